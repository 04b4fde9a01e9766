import { Args, Flags } from '@oclif/core';
import type { VolumesChangeResult } from '../../agent/protocol.js';
import { whoAmI } from '../../ui/host-command.js';
import { VolumeChangeCommand, volumeChangeFlags } from '../../ui/volume-command.js';

export default class VolumesAdd extends VolumeChangeCommand {
  static override summary = 'Add a named volume to the app and mount it (a new release, zero downtime)';
  static override description = 'Mounts the Docker volume paas-APP.NAME at PATH in the containers of the given process types (default: every type) and in every one-off container (release phase, `paas run`, scheduled tasks). Kept on each host: every later deploy, rollback and scale mounts it too. During a rollout the old and the new containers share the volume for a moment.';
  static override examples = ['<%= config.bin %> volumes:add data:/app/data', '<%= config.bin %> volumes:add uploads:/app/public/uploads -p web -p worker'];
  static override args = { volume: Args.string({ description: 'NAME:/path (lowercase name; absolute path in the containers)', required: true }) };
  static override flags = {
    ...volumeChangeFlags,
    process: Flags.string({ char: 'p', description: 'process type that mounts it (repeatable; default: every type)', multiple: true }),
  };

  async run(): Promise<(VolumesChangeResult & { host: string })[]> {
    const { args, flags } = await this.parse(VolumesAdd);
    return this.changeVolumes(flags, `volumes:add ${args.volume}`, (agent, fields, report) => agent.call('volumes-add', {
      ...fields, volume: args.volume, process: flags.process ?? [], by: whoAmI(),
    }, { onEvent: (m) => report(m) }));
  }
}
