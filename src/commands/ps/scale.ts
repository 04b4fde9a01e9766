import { Args, Flags } from '@oclif/core';
import { PaasError } from '../../errors.js';
import { HostCommand, releaseHosts, hostFlags, whoAmI } from '../../ui/host-command.js';
import { nextReleaseVersion } from '../../deploy/index.js';
import { formationText, parseFormationArgs, sameFormation } from '../../release/formation.js';

export default class PsScale extends HostCommand {
  static override summary = 'Set how many replicas of each process type run, on every host of the app';
  static override description = 'Makes a new release from the current one with the new formation (same image, no build) and rolls it out with zero downtime on every host. The formation is kept on each host (apps/<app>/formation.json): later deploys and rollbacks run it too, whatever paas.yml says. Types are those of the Procfile / paas.yml processes; counts 0 to 100 (0 stops a type; web=0 leaves nothing to route to).';
  static override examples = ['<%= config.bin %> ps:scale web=3', '<%= config.bin %> ps:scale web=2 worker=1 --app shop', '<%= config.bin %> ps:scale worker=0'];
  static override strict = false;
  static override args = { formation: Args.string({ description: 'TYPE=COUNT, one or more (web=3 worker=0)' }) };
  static override flags = { ...hostFlags, wait: Flags.boolean({ description: 'wait for a deploy that holds the app\'s lock' }) };

  async run(): Promise<{ app: string; release?: number; formation: Record<string, number>; changed: boolean; hosts: { host: string; version: number }[] }> {
    const { argv, flags } = await this.parse(PsScale);
    const config = await this.configOf('.');
    const app = this.appName(flags, config);
    const assignments = (argv as string[]).filter((a) => a.trim() !== '');
    const addresses = releaseHosts(flags, config);
    const locked = await this.lockEveryHost(addresses, flags, app, `ps:scale ${assignments.join(' ')}`, flags.wait);
    const { states } = locked;
    const currents = states.map((s, i) => {
      const release = s.releases.find((r) => r.version === s.current);
      if (!release) throw new PaasError('usage', `${app} has no release on ${addresses[i]!.label}`, { hint: 'deploy it first: `paas deploy`' });
      return release;
    });
    // Checked here first (the agents check again): a typo changes nothing anywhere.
    const change = parseFormationArgs(assignments, Object.keys(currents[0]!.processes));
    if (currents.every((r) => sameFormation(r.formation, change))) {
      if (!this.jsonEnabled()) this.log(`${app} already runs ${formationText(change)}: nothing to change`);
      return { app, formation: currents[0]!.formation, changed: false, hosts: [] };
    }
    const version = nextReleaseVersion(states);
    const results = await this.changeEveryHost(locked, addresses, (host) => `Scale ${app} to ${formationText(change)} on ${host}`, (agent, token, report) => agent.call('scale', {
      app, version, by: whoAmI(), keep: config.keepReleases ?? 5, 'lock-token': token, set: Object.entries(change).map(([type, n]) => `${type}=${n}`),
    }, { onEvent: (m) => report(m) }));
    const first = results[0]!;
    const formation = { ...currents[0]!.formation, ...change };
    if (!this.jsonEnabled()) this.log(`${app} v${first.version} runs ${formationText(formation)} (${first.urls.join(', ')})`);
    return { app, release: first.version, formation, changed: true, hosts: results.map((r, i) => ({ host: addresses[i]!.label, version: r.version })) };
  }
}
