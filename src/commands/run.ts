import { Args } from '@oclif/core';
import { PaasError } from '../errors.js';
import { runOnHost } from '../host/run.js';
import { HostCommand, releaseHosts, hostFlags } from '../ui/host-command.js';

export default class Run extends HostCommand {
  static override summary = 'Run a one-off command in a new container of the app\'s current release';
  static override description = 'Starts COMMAND in a one-off container (`docker run --rm`) with the image and environment (paas.yml env and config vars) of the current release on the first host, with stdin and stdout attached and a TTY when your stdin is one. paas exits with the command\'s exit code. The command is run as the argv you give, without a shell: write `paas run -- sh -c \'echo $HOME\'` for one. Ctrl-C or a dropped connection removes the container.';
  static override examples = [
    '<%= config.bin %> run -- node scripts/migrate.js',
    '<%= config.bin %> run -- sh -c \'echo $DATABASE_URL | cut -c1-8\'',
    '<%= config.bin %> run --app shop -- bash',
  ];
  static override strict = false;
  static override enableJsonFlag = false;
  static override args = { command: Args.string({ description: 'the command and its arguments, after --', required: false }) };
  static override flags = hostFlags;

  async run(): Promise<void> {
    const { flags } = await this.parse(Run);
    const separator = this.argv.indexOf('--');
    const argv = separator === -1 ? [] : this.argv.slice(separator + 1);
    if (argv.length === 0) {
      throw new PaasError('usage', 'no command to run', { hint: 'put it after --: paas run -- COMMAND [ARG ...]' });
    }
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const address = releaseHosts(flags, config)[0]!;
    const session = await this.open(address, flags);
    const tty = Boolean(process.stdin.isTTY && process.stdout.isTTY);
    let cancel = () => {};
    const onSigint = () => cancel();
    process.on('SIGINT', onSigint);
    try {
      const code = await runOnHost(session.agent, app, argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, tty, (c) => { cancel = c; });
      process.exitCode = code;
    } finally {
      process.off('SIGINT', onSigint);
    }
  }
}
