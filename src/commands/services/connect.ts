import { verbArgv } from '../../agent/protocol.js';
import { attachOnHost } from '../../host/run.js';
import { checkedServiceName } from '../../release/services.js';
import { hostFlags } from '../../ui/host-command.js';
import { ServiceCommand, serviceNameArg } from '../../ui/service-command.js';

export default class ServicesConnect extends ServiceCommand {
  static override summary = 'Open psql or redis-cli on a service, in a one-off container on its network';
  static override description = 'With a TTY when your stdin is one; otherwise the client reads stdin (pipe SQL or Redis commands in). The password goes in the container\'s environment, never in argv. paas exits with the client\'s exit code.';
  static override examples = ['<%= config.bin %> services:connect shop-db', 'echo "select count(*) from orders" | <%= config.bin %> services:connect shop-db'];
  static override enableJsonFlag = false;
  static override args = { name: serviceNameArg };
  static override flags = hostFlags;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ServicesConnect);
    const name = checkedServiceName(args.name);
    const { session } = await this.serviceHost(flags);
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    let cancel = () => {};
    const onSigint = () => cancel();
    process.on('SIGINT', onSigint);
    try {
      process.exitCode = await attachOnHost(session.agent, ['services-connect', ...verbArgv('services-connect', { name, tty })], { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, tty, (c) => { cancel = c; });
    } finally {
      process.off('SIGINT', onSigint);
    }
  }
}
