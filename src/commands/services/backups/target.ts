import { Args, Flags } from '@oclif/core';
import type { VerbResults } from '../../../agent/protocol.js';
import { PaasError } from '../../../errors.js';
import { checkedServiceName } from '../../../release/services.js';
import { hostFlags } from '../../../ui/host-command.js';
import { ServiceCommand, serviceNameArg } from '../../../ui/service-command.js';

export default class ServicesBackupsTarget extends ServiceCommand {
  static override summary = 'Copy a service\'s backups off the host: to another host over SSH, or to S3-compatible storage';
  static override description = 'Every backup (by hand or scheduled) is then copied, encrypted as it is, to the target; a copy that fails is a warning and the backup stays on the host. SSH: ssh://user@host:port/path, the target\'s host key pinned with --host-key (a known_hosts line or SHA256:...); the host logs in with a key of its own, printed here: authorize it on the target. S3: s3://bucket/prefix with --region (and --endpoint for other than AWS); the credentials come from PAAS_S3_ACCESS_KEY_ID and PAAS_S3_SECRET_ACCESS_KEY and are kept encrypted on the host. The targets outlive the service, like its backups: services:restore NAME --from-target ssh|s3 restores from them.';
  static override examples = [
    '<%= config.bin %> services:backups:target shop-db ssh://backup@10.0.0.5/srv/paas-backups --host-key "ssh-ed25519 AAAA..."',
    'PAAS_S3_ACCESS_KEY_ID=... PAAS_S3_SECRET_ACCESS_KEY=... <%= config.bin %> services:backups:target shop-db s3://backups/shop --region eu-west-1',
    '<%= config.bin %> services:backups:target shop-db s3 --remove',
  ];
  static override args = { name: serviceNameArg, target: Args.string({ description: 'ssh://user@host:port/path or s3://bucket/prefix (with --remove: ssh or s3)', required: true }) };
  static override flags = {
    ...hostFlags,
    'host-key': Flags.string({ description: 'SSH: the target\'s host key (known_hosts line, "ssh-ed25519 AAAA...", or SHA256:...)' }),
    region: Flags.string({ description: 'S3: the region', default: 'us-east-1' }),
    endpoint: Flags.string({ description: 'S3: the endpoint of an S3-compatible server (http(s)://host:port); default AWS' }),
    'path-style': Flags.boolean({ description: 'S3: the bucket in the path (MinIO and most self-hosted servers)' }),
    remove: Flags.boolean({ description: 'stop copying to this kind of target (ssh or s3)' }),
  };

  async run(): Promise<VerbResults['services-backups-target'] & { host: string }> {
    const { args, flags } = await this.parse(ServicesBackupsTarget);
    const name = checkedServiceName(args.name);
    const { address, session } = await this.serviceHost(flags);
    const call = (input: Omit<Parameters<typeof session.agent.call<'services-backups-target'>>[1], 'name'>, stdin?: string) => session.agent.call('services-backups-target', { name, ...input }, { ...(stdin ? { stdin } : {}), onEvent: (m) => this.jsonEnabled() || this.log(m) });
    let result: VerbResults['services-backups-target'];
    if (flags.remove) {
      if (args.target !== 'ssh' && args.target !== 's3') throw new PaasError('usage', 'with --remove, name the kind of target: ssh or s3');
      result = await call({ kind: args.target, remove: true });
    } else if (/^(ssh|sftp):\/\//.test(args.target)) {
      if (!flags['host-key']) throw new PaasError('usage', 'an SSH target needs --host-key: the target\'s host key, so that no other host can pose as it', { hint: 'e.g. ssh-keyscan -t ed25519 HOST, or the SHA256:... fingerprint ssh shows' });
      result = await call({ kind: 'ssh', url: args.target, 'host-key': flags['host-key'] });
    } else if (args.target.startsWith('s3://')) {
      const [bucket = '', ...prefix] = args.target.slice(5).split('/');
      const accessKeyId = process.env.PAAS_S3_ACCESS_KEY_ID;
      const secretAccessKey = process.env.PAAS_S3_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey) throw new PaasError('usage', 'set PAAS_S3_ACCESS_KEY_ID and PAAS_S3_SECRET_ACCESS_KEY: the S3 credentials go to the host on stdin, never in argv');
      result = await call({
        kind: 's3', bucket, ...(prefix.join('/') ? { prefix: prefix.join('/') } : {}), region: flags.region,
        ...(flags.endpoint ? { endpoint: flags.endpoint } : {}), 'path-style': flags['path-style'],
      }, JSON.stringify({ accessKeyId, secretAccessKey }));
    } else {
      throw new PaasError('usage', `${JSON.stringify(args.target)} is not ssh://user@host:port/path or s3://bucket/prefix`);
    }
    if (!this.jsonEnabled()) {
      if (result.publicKey) this.log(`Authorize this key on the target (its ~/.ssh/authorized_keys):\n${result.publicKey}`);
      this.log(`${name}: backups are copied to ${result.targets.join(' and ') || 'no target'} (${result.check})`);
    }
    return { host: address.label, ...result };
  }
}
