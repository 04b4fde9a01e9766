import { describe, expect, it } from 'vitest';
import { launcherText, systemdUnitText } from '../../src/agent/service.js';

describe('the host service files', () => {
  it('the launcher starts one agent file\'s service with the node that wrote it', () => {
    expect(launcherText('/usr/bin/node', '/var/lib/paas/agent/agent-0123abcd.mjs')).toBe(
      "#!/bin/sh\n# Written by the paas agent: starts the host service of the newest agent.\nexec '/usr/bin/node' '/var/lib/paas/agent/agent-0123abcd.mjs' service \"$@\"\n",
    );
  });

  it('the systemd unit runs the launcher supervised, restarted always, after docker', () => {
    const unit = systemdUnitText('/var/lib/paas/bin/paas-service');
    expect(unit).toContain('ExecStart=/var/lib/paas/bin/paas-service --supervised\n');
    expect(unit).toContain('Restart=always\n');
    expect(unit).toContain('After=docker.service network-online.target\n');
    expect(unit).toContain('WantedBy=multi-user.target\n');
  });
});
