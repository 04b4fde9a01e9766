import { Args } from '@oclif/core';
import { PaasCommand } from '../../ui/command.js';
import { fetchHostKey, parseHost } from '../../ssh/connect.js';
import { KnownHosts, addKnownHost, fingerprint, keyTypeOf, knownHostsFiles } from '../../ssh/known-hosts.js';
import { PaasError } from '../../errors.js';

export default class HostTrust extends PaasCommand {
  static override summary = 'Record a host\'s SSH host key as trusted';
  static override description = 'Reads the key the host offers (without logging in), prints its fingerprint and adds it to ~/.ssh/known_hosts. Compare the fingerprint with the server\'s own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on it) before trusting. A host whose recorded key differs is refused: remove the old entry first.';
  static override examples = ['<%= config.bin %> host:trust ssh://root@203.0.113.10', '<%= config.bin %> host:trust deploy@example.com --json'];
  static override args = { host: Args.string({ description: 'ssh://user@host:port, user@host or host', required: true }) };

  async run(): Promise<{ host: string; type: string; fingerprint: string; file: string; added: boolean }> {
    const { args } = await this.parse(HostTrust);
    const address = parseHost(args.host);
    const key = await fetchHostKey(address);
    const files = knownHostsFiles();
    const status = (await KnownHosts.load(files)).verify(address.host, address.port, key);
    const summary = { host: address.label, type: keyTypeOf(key), fingerprint: fingerprint(key), file: files[0]! };
    if (status.status === 'changed' || status.status === 'revoked') {
      throw new PaasError('hostKey', `${address.label} offers ${summary.type} ${summary.fingerprint}, which does not match what known_hosts says (${status.status})`, {
        details: status.known.map((k) => `${k.file}:${k.line} ${k.type} ${fingerprint(k.blob)}`),
        hint: 'verify the new key out of band; if it is right, remove the old entry (ssh-keygen -R) and run host:trust again',
      });
    }
    const added = status.status !== 'trusted';
    if (added) await addKnownHost(summary.file, address.host, address.port, key);
    if (!this.jsonEnabled()) this.log(`${address.label}: ${summary.type} ${summary.fingerprint} ${added ? `added to ${summary.file}` : 'already trusted'}`);
    return { ...summary, added };
  }
}
