import { Args, Flags } from '@oclif/core';
import type { ServiceView } from '../../agent/protocol.js';
import { sendImages } from '../../host/setup.js';
import { checkedKind, checkedServiceName, checkedVersion, KINDS, SERVICE_KINDS } from '../../release/services.js';
import { hostFlags } from '../../ui/host-command.js';
import { runSteps } from '../../ui/progress.js';
import { ServiceCommand, serviceInfoLines, serviceNameArg } from '../../ui/service-command.js';

export default class ServicesCreate extends ServiceCommand {
  static override summary = 'Create a Postgres or Redis service on the host, its data in a Docker volume';
  static override description = 'Runs the official image by name (postgres:15-bookworm, redis:7-bookworm; a host that cannot pull gets it from this machine\'s Docker Engine, where `scripts/base-images.sh` builds it from Debian packages) as the container paas-svc-NAME: a generated password kept encrypted on the host, its own network and no published port, restarted after a crash or a host restart. Link it to an app with services:link. Running it again finishes a create that was cut off.';
  static override examples = ['<%= config.bin %> services:create postgres shop-db', '<%= config.bin %> services:create redis cache --version 7'];
  static override args = {
    kind: Args.string({ description: `the kind of service: ${SERVICE_KINDS.join(', ')}`, required: true, options: [...SERVICE_KINDS] }),
    name: serviceNameArg,
  };
  static override flags = { ...hostFlags, version: Flags.string({ description: 'major version (postgres: 13-17, default 15; redis: 6-7, default 7)' }) };

  async run(): Promise<ServiceView & { url: string; host: string }> {
    const { args, flags } = await this.parse(ServicesCreate);
    const kind = checkedKind(args.kind);
    const name = checkedServiceName(args.name);
    const version = checkedVersion(kind, flags.version);
    const { address, session } = await this.serviceHost(flags);
    const image = KINDS[kind].image(version);
    let created: ServiceView & { url: string } | undefined;
    await runSteps<object>([
      { title: `the image ${image} on ${address.label}`, run: async (_c, report) => { await sendImages(session.agent, [image], `the ${kind} service`, report); } },
      { title: `${kind} ${version} as ${name} on ${address.label}`, run: async (_c, report) => { created = await session.agent.call('services-create', { kind, name, version }, { onEvent: (m) => report(m) }); } },
    ], {}, { json: this.jsonEnabled() });
    if (!this.jsonEnabled()) {
      for (const line of serviceInfoLines(address.label, created!)) this.log(line);
      this.log(`Link it to an app: paas services:link ${name} --app APP`);
    }
    return { host: address.label, ...created! };
  }
}
