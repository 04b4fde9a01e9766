import { describe, expect, it } from 'vitest';
import {
  formatMiB, formatUptime, matchesProcess, mergeLogLines, parseDockerSize, parseStatsLine, parseTimestamped, psTable, rowFromInspect, type ProcessRow,
} from '../../src/release/ps.js';

describe('parseDockerSize', () => {
  it.each([
    ['0B', 0], ['512B', 512], ['1.5KiB', 1536], ['25.3MiB', Math.round(25.3 * 1024 ** 2)], ['256MiB', 268435456],
    ['1GiB', 1073741824], ['1.2GB', 1_200_000_000], ['3kB', 3000], ['12 MB', 12_000_000],
  ])('%s -> %i', (text, bytes) => {
    expect(parseDockerSize(text)).toBe(bytes);
  });

  it.each(['', '--', 'MiB', '12 parsecs'])('%j -> undefined', (text) => {
    expect(parseDockerSize(text)).toBeUndefined();
  });
});

describe('parseStatsLine', () => {
  it('name, CPU % and memory in use', () => {
    expect(parseStatsLine('{"Name":"paas-shop-web-1-v3","CPUPerc":"12.34%","MemUsage":"25.5MiB / 256MiB","MemPerc":"9.96%"}'))
      .toEqual({ name: 'paas-shop-web-1-v3', cpuPercent: 12.34, memoryBytes: 26738688 });
  });

  it('a stopped container ("--") has no numbers; garbage is skipped', () => {
    expect(parseStatsLine('{"Name":"x","CPUPerc":"--","MemUsage":"-- / --"}')).toEqual({ name: 'x' });
    expect(parseStatsLine('not json')).toBeUndefined();
    expect(parseStatsLine('')).toBeUndefined();
  });
});

describe('rowFromInspect', () => {
  const now = Date.parse('2025-01-01T12:10:05Z');
  it('a running web replica with limits', () => {
    expect(rowFromInspect({
      name: '/paas-shop-web-2-v3-r1', labels: { 'paas.app': 'shop', 'paas.process': 'web', 'paas.replica': '2', 'paas.release': '3', 'paas.restart': '1' },
      status: 'running', startedAt: '2025-01-01T12:00:00.5Z', restarts: 0, memory: 268435456, nanoCpus: 500000000,
    }, now)).toEqual({
      process: 'web.2', type: 'web', replica: 2, generation: 1, release: 3, state: 'running', uptimeSeconds: 605, restarts: 0,
      memoryLimitBytes: 268435456, cpuLimit: 0.5, container: 'paas-shop-web-2-v3-r1',
    });
  });

  it('an exited worker without limits: no uptime, no limit fields', () => {
    expect(rowFromInspect({
      name: '/paas-shop-worker-1-v3', labels: { 'paas.process': 'worker', 'paas.replica': '1', 'paas.release': '3' },
      status: 'exited', startedAt: '2025-01-01T12:00:00Z', restarts: 2, memory: 0, nanoCpus: 0,
    }, now)).toEqual({ process: 'worker.1', type: 'worker', replica: 1, generation: 0, release: 3, state: 'exited', restarts: 2, container: 'paas-shop-worker-1-v3' });
  });
});

describe('formatting', () => {
  it.each([[0, '0s'], [59, '59s'], [125, '2m5s'], [7300, '2h1m'], [90000, '1d1h']])('uptime %i -> %s', (s, text) => {
    expect(formatUptime(s)).toBe(text);
  });

  it.each([[512, '512B'], [1536, '1.5KiB'], [268435456, '256MiB'], [26738688, '25.5MiB'], [1073741824, '1GiB']])('%i bytes -> %s', (b, text) => {
    expect(formatMiB(b)).toBe(text);
  });

  it('psTable: web first, old releases marked, limits shown', () => {
    const row = (over: Partial<ProcessRow>): ProcessRow => ({ process: 'web.1', type: 'web', replica: 1, generation: 0, release: 4, state: 'running', restarts: 0, container: 'c', ...over });
    expect(psTable([
      row({ process: 'worker.1', type: 'worker', uptimeSeconds: 61, cpuPercent: 0.25, memoryBytes: 10485760 }),
      row({ uptimeSeconds: 5, cpuPercent: 1, memoryBytes: 26738688, memoryLimitBytes: 268435456, cpuLimit: 0.5, generation: 1 }),
      row({ release: 3, state: 'exited' }),
    ], 4)).toEqual([
      'PROCESS   STATE    RELEASE   UPTIME  CPU   MEMORY            CPUS',
      'web.1     running  v4-r1     5s      1.0%  25.5MiB / 256MiB  0.5',
      'web.1     exited   v3 (old)  -       -     -                 -',
      'worker.1  running  v4        1m1s    0.3%  10MiB             -',
    ]);
  });
});

describe('logs', () => {
  it('parseTimestamped pads the fraction so times sort as text', () => {
    expect(parseTimestamped('2025-01-01T12:00:00.1Z tick')).toEqual({ time: '2025-01-01T12:00:00.100000000Z', text: 'tick' });
    expect(parseTimestamped('2025-01-01T12:00:00.123456789Z  two  spaces')).toEqual({ time: '2025-01-01T12:00:00.123456789Z', text: ' two  spaces' });
    expect(parseTimestamped('2025-01-01T12:00:00Z x')).toEqual({ time: '2025-01-01T12:00:00.000000000Z', text: 'x' });
    expect(parseTimestamped('no time here')).toEqual({ time: '', text: 'no time here' });
  });

  it('mergeLogLines interleaves by time, keeps the order of equal times, and keeps the last N', () => {
    const lines = [
      { process: 'web.1', ...parseTimestamped('2025-01-01T12:00:00.3Z a3') },
      { process: 'web.1', ...parseTimestamped('2025-01-01T12:00:00.12Z a1') },
      { process: 'worker.1', ...parseTimestamped('2025-01-01T12:00:00.2Z b2') },
      { process: 'worker.1', ...parseTimestamped('2025-01-01T12:00:00.3Z b3') },
    ];
    expect(mergeLogLines(lines).map((l) => l.text)).toEqual(['a1', 'b2', 'a3', 'b3']);
    expect(mergeLogLines(lines, 2).map((l) => l.text)).toEqual(['a3', 'b3']);
    expect(mergeLogLines(lines, 0)).toEqual([]);
  });

  it('matchesProcess: a type or one process', () => {
    expect(matchesProcess(undefined, 'web', 1)).toBe(true);
    expect(matchesProcess('web', 'web', 2)).toBe(true);
    expect(matchesProcess('web', 'worker', 1)).toBe(false);
    expect(matchesProcess('web.2', 'web', 2)).toBe(true);
    expect(matchesProcess('web.2', 'web', 1)).toBe(false);
  });
});
