import { Args } from '@oclif/core';
import type { VolumesChangeResult } from '../../agent/protocol.js';
import { whoAmI } from '../../ui/host-command.js';
import { VolumeChangeCommand, volumeChangeFlags } from '../../ui/volume-command.js';

export default class VolumesRemove extends VolumeChangeCommand {
  static override summary = 'Stop mounting a volume added with volumes:add (a new release); its data is kept';
  static override description = 'The Docker volume paas-APP.NAME and its data stay on the host (`paas volumes` lists it as unmounted; volumes:add of the same name mounts it again); `paas apps:destroy APP --volumes` removes it. A volume of paas.yml is removed from paas.yml instead.';
  static override examples = ['<%= config.bin %> volumes:remove data'];
  static override args = { name: Args.string({ description: 'the volume\'s name', required: true }) };
  static override flags = volumeChangeFlags;

  async run(): Promise<(VolumesChangeResult & { host: string })[]> {
    const { args, flags } = await this.parse(VolumesRemove);
    return this.changeVolumes(flags, `volumes:remove ${args.name}`, (agent, fields, report) => agent.call('volumes-remove', {
      ...fields, name: args.name, by: whoAmI(),
    }, { onEvent: (m) => report(m) }));
  }
}
