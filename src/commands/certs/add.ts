import { readFile } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { inspectCertificate } from '../../tls/pem.js';
import { HostCommand, hostAddresses, hostFlags, whoAmI } from '../../ui/host-command.js';
import type { CertView } from '../../agent/protocol.js';
import { certLines } from '../../ui/views.js';

async function readPem(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new PaasError('usage', `cannot read the ${what} file: ${(error as Error).message}`, { where: file, hint: `check the path given to --${what === 'certificate' ? 'cert' : 'key'}` });
  }
}

export default class CertsAdd extends HostCommand {
  static override summary = 'Serve the app over HTTPS with a certificate and key (PEM)';
  static override description = 'Checks the pair (PEM, the key matches the certificate, not expired), stores it on each host (0640: root and nginx\'s workers) and serves over HTTPS every name of the app the certificate covers; plain HTTP for those names answers a 308 redirect to https:// unless --no-redirect. Replaces the app\'s previous certificate (and turns certs:auto off), without an nginx reload: nginx picks each handshake\'s certificate from the host\'s sites table. Names no certificate covers get no certificate at all (the TLS handshake is refused).';
  static override examples = ['<%= config.bin %> certs:add --cert fullchain.pem --key privkey.pem', '<%= config.bin %> certs:add --cert shop.crt --key shop.key --no-redirect'];
  static override flags = {
    ...hostFlags,
    cert: Flags.string({ description: 'certificate file (PEM: the certificate first, then its chain)', required: true }),
    key: Flags.string({ description: 'private key file (PEM, without a passphrase)', required: true }),
    'no-redirect': Flags.boolean({ description: 'keep answering plain HTTP for the covered names instead of redirecting to HTTPS' }),
    hsts: Flags.boolean({ description: 'send Strict-Transport-Security (max-age one year) over HTTPS' }),
  };

  async run(): Promise<(CertView & { host: string })[]> {
    const { flags } = await this.parse(CertsAdd);
    const cert = await readPem(flags.cert, 'certificate');
    const key = await readPem(flags.key, 'key');
    const info = inspectCertificate(cert, key, { cert: flags.cert, key: flags.key });
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const result = await this.eachHostLocked(hostAddresses(flags, config), flags, app, 'certs:add',
      (session, token) => session.agent.call('certs-add', { app, 'lock-token': token, by: whoAmI(), 'no-redirect': flags['no-redirect'], hsts: flags.hsts }, { stdin: JSON.stringify({ cert, key }) }),
      certLines);
    if (!this.jsonEnabled() && info.selfSigned) this.log('Note: the certificate is self-signed; browsers will not trust it.');
    return result;
  }
}
