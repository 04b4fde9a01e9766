import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import { renderRoutes } from '../../src/nginx/config.js';
import {
  checkPlacementConstraint, checkSpreadDescriptor, envFileText, parseServiceLogLine, LAUNCH_SCRIPT, serviceSpec, serviceTypes, staleReleaseTags, taskArgv, taskHealthcheck, taskPeers, updateOutcome,
  type SwarmNode, type SwarmTask,
  historyFromRecords, planSwarmSettlement, type SettlingService,
} from '../../src/release/swarm.js';
import type { ReleaseSpec } from '../../src/release/types.js';
import { checkJoinRequest } from '../../src/agent/swarm.js';

const spec: ReleaseSpec = {
  app: 'shop', version: 7, image: 'paas/shop:abc123', imageId: 'sha256:1', processes: { web: 'node server.js', worker: 'node "$APP_DIR/worker.js"' },
  formation: { web: 3, worker: 1 }, limits: { web: { memoryBytes: 268435456, cpus: 0.5 } }, port: 8080, healthcheck: { path: '/up', timeoutMs: 2000, intervalMs: 1000, successes: 1, source: 'paas.yml' } as ReleaseSpec['healthcheck'], domains: ['shop.example.com'],
  balance: 'least_conn', env: { LOG_LEVEL: 'info' }, description: 'Deploy abc123', createdBy: 'ann@laptop', keepReleases: 5, drainMs: 1000, stopTimeoutSeconds: 10,
  engine: 'swarm', placement: { constraints: ['node.labels.zone==a'] },
};
const image = { entrypoint: ['docker-entrypoint.sh'], cmd: ['node'] };
const secret = { id: 'sec1', name: 'paas-shop-env-v7-0123456789' };

describe('serviceSpec', () => {
  it('web: start-first, one at a time, rolled back on failure; the health check in the task; host-mode port; the env secret; spread over nodes', () => {
    expect(serviceSpec(spec, 'web', { secret, image, placement: spec.placement! })).toEqual({
      Name: 'shop-web',
      Labels: { 'paas.app': 'shop', 'paas.process': 'web', 'paas.release': '7', 'paas.domains': '["shop.example.com"]', 'paas.balance': 'least_conn' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'paas/shop:v7',
          Command: ['/paas/busybox', 'sh', '-c', LAUNCH_SCRIPT, 'paas-launch'],
          Args: ['docker-entrypoint.sh', 'node', 'server.js'],
          Env: ['PORT=8080', 'PAAS_APP=shop', 'PAAS_RELEASE=v7', 'PAAS_PROCESS=web', 'LOG_LEVEL=info'],
          Labels: { 'paas.app': 'shop', 'paas.process': 'web', 'paas.release': '7' },
          Mounts: [{ Type: 'bind', Source: '/bin/busybox', Target: '/paas/busybox', ReadOnly: true }],
          Secrets: [{ SecretID: 'sec1', SecretName: 'paas-shop-env-v7-0123456789', File: { Name: 'paas-env', UID: '0', GID: '0', Mode: 0o444 } }],
          StopGracePeriod: 10_000_000_000,
          Healthcheck: {
            Test: ['CMD', '/paas/busybox', 'wget', '-q', '-O', '/dev/null', 'http://127.0.0.1:8080/up'],
            Interval: 1_000_000_000, Timeout: 2_000_000_000, Retries: 3, StartPeriod: 30_000_000_000,
          },
        },
        Resources: { Limits: { MemoryBytes: 268435456, NanoCPUs: 500_000_000 } },
        RestartPolicy: { Condition: 'any', Delay: 1_000_000_000, MaxAttempts: 0 },
        Placement: { Constraints: ['node.labels.zone==a'], Preferences: [{ Spread: { SpreadDescriptor: 'node.id' } }] },
        Networks: [{ Target: 'paas-internal', Aliases: ['shop.internal'] }],
        LogDriver: { Name: 'json-file', Options: { 'max-size': '10m', 'max-file': '3' } },
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: { Parallelism: 1, Delay: 0, FailureAction: 'rollback', Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: 'start-first' },
      RollbackConfig: { Parallelism: 1, Delay: 0, FailureAction: 'pause', Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: 'start-first' },
      EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: 8080, PublishMode: 'host' }] },
    });
  });

  it('a worker: no port, no health check, its own name on the network; a shell command stays one argv word', () => {
    const worker = serviceSpec(spec, 'worker', { secret, image });
    expect(worker.EndpointSpec).toEqual({ Mode: 'dnsrr' });
    expect(worker.TaskTemplate.ContainerSpec.Healthcheck).toBeUndefined();
    expect(worker.TaskTemplate.Networks).toEqual([{ Target: 'paas-internal', Aliases: ['worker.shop.internal'] }]);
    expect(worker.TaskTemplate.ContainerSpec.Args).toEqual(['docker-entrypoint.sh', '/bin/sh', '-c', 'exec node "$APP_DIR/worker.js"']);
    expect(worker.TaskTemplate.Resources).toBeUndefined();
  });

  it('no command: the image\'s ENTRYPOINT and CMD; an image with neither is refused', () => {
    expect(taskArgv(null, image)).toEqual(['docker-entrypoint.sh', 'node']);
    expect(() => taskArgv(null, { entrypoint: [], cmd: [] })).toThrow(/neither ENTRYPOINT nor CMD/);
  });

  it('without a health check path, the task is healthy once its port accepts', () => {
    expect(taskHealthcheck({ port: 5000 }).Test).toEqual(['CMD', '/paas/busybox', 'nc', '-z', '127.0.0.1', '5000']);
  });

  it('web first, then the other types', () => {
    expect(serviceTypes({ processes: { worker: 'w', clock: 'c', web: 'x' }, formation: {} })).toEqual(['web', 'clock', 'worker']);
  });
});

describe('envFileText', () => {
  it('single-quotes every value, quotes inside included: the launcher\'s shell reads them as data', () => {
    expect(envFileText({ B: "it's $(rm -rf /)", A: 'x\ny' })).toBe("# paas: the config vars of the release\nA='x\ny'\nB='it'\\''s $(rm -rf /)'\n");
  });
  it('refuses a key that is not a variable name', () => {
    expect(() => envFileText({ 'A;B': 'x' })).toThrow(/not a variable name/);
  });
});

describe('taskPeers', () => {
  const nodes: SwarmNode[] = [
    { ID: 'n1', Spec: { Role: 'manager', Availability: 'active' }, Status: { State: 'ready', Addr: '172.17.0.2' } },
    { ID: 'n2', Spec: { Role: 'manager', Availability: 'active' }, Status: { State: 'down', Addr: '172.17.0.3' } },
    { ID: 'n3', Spec: { Role: 'worker', Availability: 'active' }, Status: { State: 'ready', Addr: '172.17.0.4' } },
  ];
  const task = (id: string, node: string, state: string, port?: number, desired = 'running'): SwarmTask => ({
    ID: id, ServiceID: 's', NodeID: node, DesiredState: desired, Status: { State: state, ...(port ? { PortStatus: { Ports: [{ TargetPort: 8080, PublishedPort: port }] } } : {}) },
  });
  it('running tasks on ready nodes, at the node\'s address and published port; starting, stopping and down-node tasks are left out', () => {
    expect(taskPeers([
      task('a', 'n3', 'running', 30002), task('b', 'n1', 'running', 30001), task('c', 'n1', 'starting', 30003),
      task('d', 'n2', 'running', 30004), task('e', 'n1', 'running', 30005, 'shutdown'), task('f', 'n3', 'running'),
    ], nodes, 8080)).toEqual([{ address: '172.17.0.2', port: 30001 }, { address: '172.17.0.4', port: 30002 }]);
  });
  it('routes render with the peer\'s address; a bad address is refused', () => {
    expect(renderRoutes({ version: 3, balance: 'round_robin', upstreams: [{ port: 30001, address: '172.17.0.2' }, { port: 4001 }] })).toBe('version 3\nbalance round_robin\npeer 30001 1 172.17.0.2\npeer 4001 1\n');
    expect(() => renderRoutes({ version: 3, balance: 'round_robin', upstreams: [{ port: 1, address: '1.2.3.4 x' }] })).toThrow(/invalid peer address/);
  });
});

describe('updateOutcome and staleReleaseTags', () => {
  it('reads Swarm\'s update states', () => {
    expect(['completed', 'rollback_completed', 'paused', 'rollback_paused', 'updating', 'rollback_started', undefined].map((State) => updateOutcome(State ? { State } : undefined)))
      .toEqual(['completed', 'rolled-back', 'paused', 'paused', 'updating', 'updating', 'completed']);
  });
  it('keeps the newest release tags by number, at least one', () => {
    expect(staleReleaseTags(['paas/shop:v9', 'paas/shop:v10', 'paas/shop:v8', 'paas/shop:abc', 'paas/other:v1'], 'shop', 2)).toEqual(['paas/shop:v8']);
    expect(staleReleaseTags(['paas/shop:v1', 'paas/shop:v2'], 'shop', 0)).toEqual(['paas/shop:v1']);
  });
});

describe('placement and engine in paas.yml', () => {
  it('reads them', () => {
    expect(parseConfig('engine: swarm\nplacement: { constraints: [node.labels.zone==a, "node.role != manager"], spread: [node.labels.zone] }\n', 'paas.yml'))
      .toEqual({ engine: 'swarm', placement: { constraints: ['node.labels.zone==a', 'node.role != manager'], spread: ['node.labels.zone'] } });
  });
  it('refuses what Swarm would not take, or what could be more than a constraint', () => {
    expect(() => parseConfig('engine: kubernetes\n', 'paas.yml')).toThrow(/1 problem/);
    expect(checkPlacementConstraint('node.labels.zone==a\nnode.role==manager')).toMatch(/not a placement constraint/);
    expect(checkPlacementConstraint('node.labels.zone=a')).toMatch(/not a placement constraint/);
    expect(checkSpreadDescriptor('node.role')).toMatch(/not a spread descriptor/);
  });
});

describe('checkJoinRequest', () => {
  const token = `SWMTKN-1-${'a'.repeat(50)}-${'b'.repeat(25)}`;
  it('takes a token and managers', () => {
    expect(checkJoinRequest({ token, managers: ['10.0.0.5:2377'] })).toEqual({ token, managers: ['10.0.0.5:2377'] });
  });
  it('refuses anything else', () => {
    expect(() => checkJoinRequest({ token: 'x', managers: ['10.0.0.5:2377'] })).toThrow(/no valid swarm token/);
    expect(() => checkJoinRequest({ token, managers: ['10.0.0.5:2377 --force'] })).toThrow(/no valid manager/);
    expect(() => checkJoinRequest({ token, managers: [] })).toThrow(/no valid manager/);
    expect(() => checkJoinRequest({ token, managers: ['10.0.0.5:2377'], advertise: '$(id)' })).toThrow(/not an IPv4 address/);
  });
});

describe('parseServiceLogLine', () => {
  it('reads the process, node and timestamped rest of a docker service logs line', () => {
    // As Docker 20.10 prints it (seen on a sandbox node).
    expect(parseServiceLogLine('2026-12-02T13:59:24.357400266Z shop-web.2.4an2mbr1zf97xox2i2rfrci9e@node-b    | listening on 8080', 'shop-web', 'web'))
      .toEqual({ process: 'web.2', node: 'node-b', rest: '2026-12-02T13:59:24.357400266Z listening on 8080' });
    expect(parseServiceLogLine('shop-web.1.x1@n | no time', 'shop-web', 'web')).toEqual({ process: 'web.1', node: 'n', rest: 'no time' });
  });
  it('leaves out other services\' lines and anything else', () => {
    expect(parseServiceLogLine('shop-worker.1.a1@n | x', 'shop-web', 'web')).toBeUndefined();
    expect(parseServiceLogLine('error from daemon', 'shop-web', 'web')).toBeUndefined();
  });
});

describe('planSwarmSettlement: a cluster release an agent left', () => {
  const svc = (id: string, type: string, release: number, more: Partial<SettlingService> = {}): SettlingService => ({
    id, type, release, update: { State: 'completed' }, hasPrevious: true, running: 3, replicas: 3, ...more,
  });

  it('waits while Swarm updates or rolls back any service of the app', () => {
    expect(planSwarmSettlement(9, ['web'], [svc('a', 'web', 9, { update: { State: 'updating' } })])).toEqual({ action: 'wait' });
    expect(planSwarmSettlement(9, ['web', 'worker'], [svc('a', 'web', 9), svc('b', 'worker', 8, { update: { State: 'rollback_started' } })])).toEqual({ action: 'wait' });
  });

  it('finishes when every type carries the release and Swarm completed; types it no longer has retire', () => {
    expect(planSwarmSettlement(9, ['web', 'worker'], [svc('a', 'web', 9), svc('b', 'worker', 9), svc('c', 'clock', 8)])).toEqual({ action: 'finish', retire: ['c'] });
    // A first deploy (no previous spec, no update status) is done once its tasks run.
    expect(planSwarmSettlement(1, ['web'], [svc('a', 'web', 1, { update: {}, hasPrevious: false })])).toEqual({ action: 'finish', retire: [] });
  });

  it('undoes a release Swarm rolled back or that never reached every type: updated services go back, created ones go', () => {
    // Swarm rolled web back (its spec is v8 again): nothing carries v9.
    expect(planSwarmSettlement(9, ['web'], [svc('a', 'web', 8, { update: { State: 'rollback_completed' } })])).toEqual({ action: 'undo', rollBack: [], remove: [] });
    // Killed after web: worker still v8; the new clock service was created by v9.
    expect(planSwarmSettlement(9, ['web', 'worker', 'clock'], [svc('a', 'web', 9), svc('b', 'worker', 8), svc('c', 'clock', 9, { hasPrevious: false, update: {} })]))
      .toEqual({ action: 'undo', rollBack: ['a'], remove: ['c'] });
    // A paused update counts as not done.
    expect(planSwarmSettlement(9, ['web'], [svc('a', 'web', 9, { update: { State: 'paused' } })])).toEqual({ action: 'undo', rollBack: ['a'], remove: [] });
  });

  it('a first release whose tasks do not run yet is waited for, and given up once expired', () => {
    const starting = [svc('a', 'web', 1, { update: {}, hasPrevious: false, running: 1 })];
    expect(planSwarmSettlement(1, ['web'], starting)).toEqual({ action: 'wait' });
    expect(planSwarmSettlement(1, ['web'], starting, true)).toEqual({ action: 'undo', rollBack: [], remove: ['a'] });
  });
});

describe('historyFromRecords: the release history a stand-in manager reads from the cluster', () => {
  const record = (version: number, more: Record<string, unknown> = {}) => JSON.stringify({ version, image: `paas/shop:${version}abc`, processes: { web: 'node server.js' }, description: `v${version}`, ...more });

  it('the records in order, the kept ones, each on its release tag; the web service\'s release is current', () => {
    const state = historyFromRecords('shop', [record(3), record(1), record(2)], 2, 5)!;
    expect(state.current).toBe(2);
    expect(state.releases.map((r) => [r.version, r.image, r.status])).toEqual([
      [1, 'paas/shop:v1', 'superseded'], [2, 'paas/shop:v2', 'active'], [3, 'paas/shop:v3', 'superseded'],
    ]);
    expect(historyFromRecords('shop', [record(1), record(2), record(3)], undefined, 2)!.releases.map((r) => r.version)).toEqual([2, 3]);
    // A config change's release runs the image of the release before it.
    expect(historyFromRecords('shop', [record(4, { image: 'paas/shop:v3' }), record(5, { image: 'paas/other:v3' })], 4, 5)!.releases.map((r) => r.image)).toEqual(['paas/shop:v3', 'paas/shop:v5']);
    expect(historyFromRecords('shop', [record(1), record(2)], 9, 5)!.current).toBe(2);
  });

  it('leaves out what is not a release record; none at all is no history', () => {
    expect(historyFromRecords('shop', ['not json', '[]', 'null', record(0), record(1.5), JSON.stringify({ version: 4 })], 4, 5)).toBeUndefined();
    expect(historyFromRecords('shop', [], undefined, 5)).toBeUndefined();
  });
});
