import { Command, Flags, Errors } from '@oclif/core';
import chalk from 'chalk';
import { PaasError } from '../errors.js';

/**
 * What every paas command shares: --json (oclif prints run()'s result), --debug, and the
 * rendering of failures: a PaasError prints as "where: what", details, and "Fix: how", with
 * its exit code and no stack trace unless --debug.
 */
export abstract class PaasCommand extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = {
    debug: Flags.boolean({ description: 'Show stack traces and internal detail on failure.', helpGroup: 'GLOBAL' }),
  };

  override async init(): Promise<void> {
    // https://no-color.org: any non-empty NO_COLOR turns colours off, on a terminal too.
    if (process.env.NO_COLOR) chalk.level = 0;
    await super.init();
  }

  protected get debugEnabled(): boolean {
    return this.argv.includes('--debug') || Boolean(process.env.PAAS_DEBUG);
  }

  protected override async catch(error: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    // oclif's own errors (bad flags, ExitError) keep oclif's handling and exit codes.
    if (!(error instanceof PaasError)) {
      if (error instanceof Errors.CLIError || error.oclif) return super.catch(error);
      const wrapped = new PaasError('failure', error.message, {
        hint: this.debugEnabled ? undefined : 'run again with --debug to see where it failed',
        cause: error,
      });
      if (this.debugEnabled) process.stderr.write(`${error.stack ?? error.message}\n`);
      return this.fail(wrapped);
    }
    if (this.debugEnabled) process.stderr.write(`${error.stack ?? error.message}\n`);
    return this.fail(error);
  }

  private fail(error: PaasError): never {
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(error.toJSON(), null, 2)}\n`);
    } else {
      process.stderr.write(`${chalk.red('Error:')} ${error.format()}\n`);
    }
    this.exit(error.exitCode);
  }
}
