import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';

interface KeyInfo { name: string; type: string; fingerprint: string }

export default class Keys extends HostCommand {
  static override summary = 'List the SSH keys that may git push to the hosts';
  static override description = 'Keys added with keys:add, per host: name, type and SHA256 fingerprint. They may only run git push / git fetch of apps (a forced command), never a shell.';
  static override examples = ['<%= config.bin %> keys', '<%= config.bin %> keys --host ssh://root@203.0.113.10 --json'];
  static override flags = hostFlags;

  async run(): Promise<{ host: string; keys: KeyInfo[] }[]> {
    const { flags } = await this.parse(Keys);
    const result: { host: string; keys: KeyInfo[] }[] = [];
    for (const address of hostAddresses(flags, await this.configOf('.'))) {
      const { agent } = await this.open(address, flags);
      const keys = await agent.call<KeyInfo[]>('keys-list');
      result.push({ host: address.label, keys });
      if (!this.jsonEnabled()) {
        this.log(`${address.label}: ${keys.length ? '' : 'no keys (add one with paas keys:add NAME KEY.pub)'}`);
        for (const key of keys) this.log(`  ${key.name.padEnd(20)} ${key.type.padEnd(12)} ${key.fingerprint}`);
      }
    }
    return result;
  }
}
