import { readFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { runSteps } from '../../ui/progress.js';
import { LETS_ENCRYPT_STAGING, sendBaseImages, setupHost, type HostSetupReport } from '../../host/setup.js';
import { checkHostname } from '../../config/validators.js';
import { PaasError } from '../../errors.js';

export default class HostSetup extends HostCommand {
  static override summary = 'Prepare hosts for paas (safe to run again)';
  static override description = 'Checks Docker Engine, nginx and Node.js >= 18 and installs what is missing (Debian/Ubuntu, with apt-get), uploads the paas agent when its hash differs, and creates the state directory (/var/lib/paas), the nginx include and the one server every app is served by (routes, certificates and redirects come from the host\'s sites table, so apps, domains and certificates never reload nginx). The --acme-* flags set where certs:auto gets certificates; each one given replaces the host\'s setting, the others stay. Apps are served at <app>.<base domain> plus their domains.';
  static override examples = [
    '<%= config.bin %> host:setup --host ssh://root@203.0.113.10 --base-domain apps.example.com',
    '<%= config.bin %> host:setup --json',
  ];
  static override flags = {
    ...hostFlags,
    'base-domain': Flags.string({ description: 'apps are served at <app>.<base domain>', default: 'localhost' }),
    'public-port': Flags.integer({ description: 'port where clients reach this host\'s nginx (for the URLs paas prints)', default: 80, min: 1, max: 65535 }),
    'acme-email': Flags.string({ description: 'contact the ACME CA sends expiry and policy notices to (certs:auto)' }),
    'acme-staging': Flags.boolean({ description: 'get certificates from Let\'s Encrypt\'s staging CA (untrusted certificates, high limits: for trying out)', exclusive: ['acme-directory'] }),
    'acme-directory': Flags.string({ description: 'the ACME directory URL of another CA (default: Let\'s Encrypt)' }),
    'acme-ca': Flags.string({ description: 'PEM file of the roots that sign the ACME CA\'s own HTTPS certificate (a private CA)' }),
    'acme-resolver': Flags.string({ description: 'DNS server (IP or IP:PORT) the check before issuance asks, instead of the host\'s resolver' }),
    'acme-renew-before': Flags.integer({ description: 'renew certificates this many days before they expire (default 30; a third of the lifetime when shorter)', min: 1, max: 90 }),
    images: Flags.boolean({ description: 'also send the base images the app in the current directory builds FROM (for git push to hosts that cannot pull them)' }),
  };

  async run(): Promise<HostSetupReport[]> {
    const { flags } = await this.parse(HostSetup);
    const baseDomain = flags['base-domain'];
    if (baseDomain !== 'localhost' && checkHostname(baseDomain)) {
      throw new PaasError('usage', `invalid --base-domain ${JSON.stringify(baseDomain)}: ${checkHostname(baseDomain)}`);
    }
    const acme = {
      ...(flags['acme-staging'] ? { 'acme-directory': LETS_ENCRYPT_STAGING } : flags['acme-directory'] !== undefined ? { 'acme-directory': flags['acme-directory'] } : {}),
      ...(flags['acme-email'] !== undefined ? { 'acme-email': flags['acme-email'] } : {}),
      ...(flags['acme-resolver'] !== undefined ? { 'acme-resolver': flags['acme-resolver'] } : {}),
      ...(flags['acme-renew-before'] !== undefined ? { 'acme-renew-before': flags['acme-renew-before'] } : {}),
      ...(flags['acme-ca'] !== undefined ? { caPem: await readFile(flags['acme-ca'], 'utf8').catch((error: Error) => { throw new PaasError('usage', `cannot read --acme-ca: ${error.message}`, { where: flags['acme-ca'] }); }) } : {}),
    };
    const addresses = hostAddresses(flags, await this.configOf('.'));
    const reports: HostSetupReport[] = [];
    await runSteps<object>(addresses.map((address) => ({
      title: `Set up ${address.label}`,
      run: async (_c, report) => {
        const { ssh } = await this.open(address, flags);
        const session = this.sessionOf(address);
        reports.push(await setupHost(ssh, address.label, { baseDomain, publicPort: flags['public-port'], acme, onEvent: report }));
        if (flags.images) reports[reports.length - 1]!.imagesSent = await sendBaseImages('.', session!.agent, report);
      },
    })), {}, { json: this.jsonEnabled() });
    if (!this.jsonEnabled()) {
      for (const r of reports) this.log(`${r.host}: ready (${r.os}, ${r.arch}; ${r.installed.length ? `installed ${r.installed.join(', ')}` : 'nothing to install'}; apps at <app>.${r.baseDomain})`);
    }
    return reports;
  }
}
