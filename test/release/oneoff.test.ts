import { describe, expect, it } from 'vitest';
import { planOneOff, releasePhaseName } from '../../src/release/oneoff.js';

const spec = { app: 'shop', version: 7, image: 'paas/shop:abc', port: 8080 };

describe('planOneOff', () => {
  it('the release phase: --rm, labels, names of vars only, the command as argv', () => {
    expect(planOneOff(spec, { kind: 'release', name: releasePhaseName('shop', 7), argv: ['node', 'migrate.js'], envNames: ['SECRET', 'DATABASE_URL'] })).toEqual([
      'run', '--rm', '--name', 'paas-shop-release-v7',
      '--label', 'paas.app=shop', '--label', 'paas.oneoff=release', '--log-driver', 'none',
      '--env', 'PORT=8080', '--env', 'PAAS_APP=shop', '--env', 'PAAS_RELEASE=v7', '--env', 'PAAS_PROCESS=release',
      '--env', 'DATABASE_URL', '--env', 'SECRET',
      'paas/shop:abc', 'node', 'migrate.js',
    ]);
  });
  it('paas run: interactive, with a TTY when asked; hostile argv stays argv', () => {
    const args = planOneOff(spec, { kind: 'run', name: 'paas-shop-run-0a1b2c3d', argv: ['sh', '-c', 'echo $X; $(touch /tmp/p)'], envNames: [], interactive: true, tty: true });
    expect(args.slice(0, 5)).toEqual(['run', '--rm', '--interactive', '--tty', '--name']);
    expect(args.slice(-4)).toEqual(['paas/shop:abc', 'sh', '-c', 'echo $X; $(touch /tmp/p)']);
    expect(args).toContain('paas.oneoff=run');
    expect(args).not.toContain('--detach');
  });
});
