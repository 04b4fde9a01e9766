import { Args, Flags } from '@oclif/core';
import { PaasCommand } from '../../ui/command.js';
import { runSteps } from '../../ui/progress.js';
import { connectEngine } from '../../docker/engine.js';
import { SANDBOX_FLAVOURS, sandboxUp, type SandboxFlavour, type SandboxInfo } from '../../sandbox/index.js';

export default class SandboxUp extends PaasCommand {
  static override summary = 'Start a throwaway server on the local Docker Engine';
  static override description = 'A container with its own Docker Engine, sshd and nginx, reachable only on 127.0.0.1: SSH with a fresh ed25519 key, HTTP and HTTPS ports published. Use it to try paas with no server; tests use one per host. Running it again for the same NAME returns the running sandbox.';
  static override examples = [
    '<%= config.bin %> sandbox:up demo',
    '<%= config.bin %> sandbox:up demo --json | jq -r .url',
    '<%= config.bin %> sandbox:up web2 --identity ~/.paas/sandboxes/web1/id_ed25519',
    '<%= config.bin %> sandbox:up new --flavour trixie --containerd-store --user admin',
    'ssh -i ~/.paas/sandboxes/demo/id_ed25519 -o UserKnownHostsFile=~/.paas/sandboxes/demo/known_hosts -p PORT root@127.0.0.1',
  ];
  static override args = { name: Args.string({ description: 'sandbox name (lowercase letters, digits, dashes)', required: true }) };
  static override flags = {
    identity: Flags.string({ char: 'i', description: 'log in with this existing private key instead of a fresh one (one key for several sandboxes)' }),
    flavour: Flags.string({ description: 'the kind of host: bookworm (Debian 12, Docker Engine 20.10) or trixie (Debian 13, Docker Engine 26.1 with buildx)', options: Object.keys(SANDBOX_FLAVOURS) }),
    'containerd-store': Flags.boolean({ description: 'turn on the engine\'s containerd image store (trixie only), as new installs of Docker Engine 29 have it' }),
    user: Flags.string({ description: 'SSH only as this user, with passwordless sudo (root login refused), as on a cloud image' }),
  };

  async run(): Promise<SandboxInfo> {
    const { args, flags } = await this.parse(SandboxUp);
    const ctx = await runSteps<{ info?: SandboxInfo }>([
      { title: `Start sandbox ${args.name}`, run: async (c, report) => {
        c.info = await sandboxUp(await connectEngine(), args.name, report, {
          ...(flags.identity ? { identity: flags.identity } : {}),
          ...(flags.flavour ? { flavour: flags.flavour as SandboxFlavour } : {}),
          ...(flags['containerd-store'] ? { containerdStore: true } : {}),
          ...(flags.user ? { user: flags.user } : {}),
        });
      } },
    ], {}, { json: this.jsonEnabled() });
    const info = ctx.info!;
    if (!this.jsonEnabled()) {
      this.log([
        `sandbox ${info.name} is up (${info.flavour}${info.containerdStore ? ', containerd image store' : ''}, SSH as ${info.user})`,
        `  ssh:   ${info.url}  (key ${info.keyPath})`,
        `  http:  http://127.0.0.1:${info.httpPort}`,
        `  https: https://127.0.0.1:${info.httpsPort}`,
        `  try:   ssh -i ${info.keyPath} -o UserKnownHostsFile=${info.knownHostsPath} -p ${info.sshPort} ${info.user}@127.0.0.1 ${info.user === 'root' ? '' : 'sudo '}docker version`,
      ].join('\n'));
    }
    return info;
  }
}
