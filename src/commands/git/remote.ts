import { Args, Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { HostCommand, hostAddresses, hostFlags } from '../../ui/host-command.js';
import { gitRemoteUrl } from '../../git/remote.js';

export default class GitRemote extends HostCommand {
  static override summary = 'Add the `paas` git remote, so that `git push paas main` deploys';
  static override description = 'Points a remote of the app\'s repository at the app on its first host (ssh://paas@HOST:PORT/APP). Pushing the deploy branch (main, or master in a repository without main) builds and releases on the host; the push is rejected when the build, release phase or health check fails. The key you push with must be added with keys:add first.';
  static override examples = ['<%= config.bin %> git:remote', '<%= config.bin %> git:remote --app shop --host ssh://root@203.0.113.10', '<%= config.bin %> git:remote --print'];
  static override args = { dir: Args.directory({ description: 'the app\'s repository', default: '.' }) };
  static override flags = {
    ...hostFlags,
    remote: Flags.string({ description: 'name of the git remote', default: 'paas' }),
    print: Flags.boolean({ description: 'print the remote URL instead of adding it' }),
  };

  async run(): Promise<{ remote: string; url: string; added: boolean }> {
    const { args, flags } = await this.parse(GitRemote);
    const config = await this.configOf(args.dir);
    const app = this.appName(flags, config);
    const [address] = hostAddresses(flags, config);
    const url = gitRemoteUrl(address!, app);
    if (flags.print) {
      if (!this.jsonEnabled()) this.log(url);
      return { remote: flags.remote, url, added: false };
    }
    const { simpleGit } = await import('simple-git');
    const git = simpleGit(args.dir);
    if (!(await git.checkIsRepo().catch(() => false))) {
      throw new PaasError('usage', `${args.dir} is not a git repository`, { hint: 'run `git init` and commit the app first, or use --print' });
    }
    const remotes = await git.getRemotes();
    if (remotes.some((r) => r.name === flags.remote)) await git.remote(['set-url', flags.remote, url]);
    else await git.addRemote(flags.remote, url);
    if (!this.jsonEnabled()) this.log(`${flags.remote} -> ${url}\ndeploy with: git push ${flags.remote} main`);
    return { remote: flags.remote, url, added: true };
  }
}
