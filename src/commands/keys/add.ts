import { readFile } from 'node:fs/promises';
import { Args } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { checkKeyName, parsePublicKey } from '../../git/authorized-keys.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

export default class KeysAdd extends HostCommand {
  static override summary = 'Allow an SSH public key to git push to the hosts';
  static override description = 'Adds the key to the authorized_keys of the hosts\' git user (paas) with a forced command: it may push and fetch apps (`git push paas main`), nothing else: no shell, no forwarding, no other command.';
  static override examples = ['<%= config.bin %> keys:add alice ~/.ssh/id_ed25519.pub', '<%= config.bin %> keys:add ci ./deploy_key.pub --host ssh://root@203.0.113.10'];
  static override args = {
    name: Args.string({ description: 'a name for the key (letters, digits, . _ @ -)', required: true }),
    file: Args.string({ description: 'the public key file (.pub)', required: true }),
  };
  static override flags = hostFlags;

  async run(): Promise<{ host: string; name: string; fingerprint: string }[]> {
    const { args, flags } = await this.parse(KeysAdd);
    const problem = checkKeyName(args.name);
    if (problem) throw new PaasError('usage', problem);
    const text = await readFile(args.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new PaasError('usage', `cannot read ${args.file}: ${error.code ?? error.message}`, { hint: 'pass the path of a public key file, such as ~/.ssh/id_ed25519.pub' });
    });
    parsePublicKey(text.trim(), args.file); // refuses a private key or junk before any host is touched
    return this.eachHost(hostAddresses(flags, await this.configOf('.')), flags, ({ agent }) => agent.call('keys-add', { name: args.name }, { stdin: text }),
      (host, result) => [`${host}: ${result.name} (${result.fingerprint}) may now git push`]);
  }
}
