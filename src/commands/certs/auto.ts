import { Args, Flags } from '@oclif/core';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';
import type { CertView } from '../../agent/protocol.js';
import { certLines } from '../../ui/views.js';

export default class CertsAuto extends HostCommand {
  static override summary = 'HTTPS by itself: a certificate from the host\'s ACME CA (Let\'s Encrypt), renewed by the host';
  static override description = 'Each host checks that the names point at it (DNS, before asking the CA), gets one certificate for all of them over HTTP-01 (nginx answers the challenge on port 80) and serves it without a reload; plain HTTP then answers a 308 redirect to https:// (the challenge path excepted) unless --no-redirect. The host renews it by itself 30 days before it expires (see host:setup --acme-renew-before), retrying with a growing wait when the CA fails, the old certificate serving meanwhile; `paas certs` shows the next renewal and the last error. With no DOMAIN: every name of the app a public CA issues for (not *.localhost, no wildcards). The CA is set at host:setup (--acme-directory, --acme-staging, --acme-email). A failure changes nothing on the host.';
  static override examples = [
    '<%= config.bin %> certs:auto',
    '<%= config.bin %> certs:auto shop.example.com www.shop.example.com --hsts',
    '<%= config.bin %> certs:auto --off',
  ];
  static override strict = false;
  static override args = { domain: Args.string({ description: 'names to put in the certificate (default: every name of the app a CA issues for)' }) };
  static override flags = {
    ...hostFlags,
    'no-redirect': Flags.boolean({ description: 'keep answering plain HTTP for the covered names instead of redirecting to HTTPS' }),
    hsts: Flags.boolean({ description: 'send Strict-Transport-Security (max-age one year) over HTTPS' }),
    off: Flags.boolean({ description: 'stop renewing (the current certificate serves until it expires or certs:remove)', exclusive: ['hsts', 'no-redirect'] }),
  };

  async run(): Promise<(CertView & { host: string })[]> {
    const { flags, argv } = await this.parse(CertsAuto);
    const names = (argv as string[]).map((name) => name.toLowerCase());
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    return this.eachHostLocked(hostAddresses(flags, config), flags, app, flags.off ? 'certs:auto --off' : 'certs:auto',
      (session, token) => session.agent.call('certs-auto', {
        app, 'lock-token': token, by: whoAmI(), name: names, 'no-redirect': flags['no-redirect'], hsts: flags.hsts, off: flags.off,
      }),
      certLines);
  }
}
