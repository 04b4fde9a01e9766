import type { ClusterView } from '../agent/protocol.js';

/** `paas cluster`'s table: one line per node (role, state, address, what runs there), then the apps' services. */
export function clusterLines(host: string, view: ClusterView): string[] {
  if (view.self.state !== 'active') return [`${host}: not in a cluster (run \`paas cluster:init --host ${host}\` or \`paas cluster:join\`)`];
  if (!view.self.manager) return [`${host}: a worker of a cluster (node ${view.self.nodeId?.slice(0, 12) ?? '?'}); ask a manager with --host for the whole cluster`];
  const rows = view.nodes.map((node) => [
    node.id.slice(0, 12), node.hostname, `${node.role}${node.leader ? ' (leader)' : ''}`, node.state, node.availability, node.address, node.tasks.join(' ') || '-',
  ]);
  const header = ['NODE', 'HOSTNAME', 'ROLE', 'STATE', 'AVAILABILITY', 'ADDRESS', 'TASKS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [
    `${host}: cluster ${view.self.cluster?.slice(0, 12) ?? ''}, ${view.nodes.length} node(s)`,
    line(header), ...rows.map(line),
    ...(view.apps.length ? ['', ...view.apps.map((a) => `${a.app} ${a.type}: v${a.release}, ${a.running}/${a.replicas} task(s) running`)] : []),
  ];
}
