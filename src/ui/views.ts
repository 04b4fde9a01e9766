/** How host answers are shown on a terminal: one function per kind of answer, lines of text. */
import type { AppInfo, AppSummary, CertView, CronView, DomainsView, LbView, LinkedService, PsResult, VolumesView } from '../agent/protocol.js';
import { formationText } from '../release/formation.js';
import { psTable } from '../release/ps.js';
import { dockerVolumeName, volumeText } from '../release/volumes.js';

const serviceText = (s: LinkedService) => `${s.name} (${s.kind}, ${s.state}) as ${s.as}`;

/** One host's answer of a domains verb. */
export function domainLines(host: string, view: DomainsView): string[] {
  return [
    `${view.app} on ${host}:${view.released ? '' : ' (not deployed yet: the names take effect at its first deploy)'}`,
    ...view.domains.map((d) => `  ${d.name.padEnd(40)} ${d.source.padEnd(12)} ${d.https ? 'https' : 'http'}`),
  ];
}

export function certLines(host: string, view: CertView): string[] {
  const c = view.certificate;
  const auto = view.auto;
  const autoLines = auto ? [
    `  auto         ${auto.names.join(', ')} (from the host's ACME CA, by ${auto.by}; renewed by the host)`,
    ...(auto.nextRenewal ? [`  next renewal ${auto.nextRenewal}`] : []),
    ...(auto.lastError ? [`  last error   ${auto.lastError} (${auto.failures} failed attempt(s) in a row${auto.lastAttemptAt ? `, the last at ${auto.lastAttemptAt}` : ''})`] : []),
  ] : [];
  if (!c) return [`${view.app} on ${host}: no certificate (plain HTTP)`, ...autoLines];
  return [
    `${view.app} on ${host}:`,
    `  certificate  ${c.names.join(', ')}${c.selfSigned ? ' (self-signed)' : ''} (${c.source === 'acme' ? 'from the ACME CA' : 'certs:add'})`,
    ...(c.issuer ? [`  issuer       ${c.issuer}`] : []),
    `  expires      ${c.notAfter}`,
    `  fingerprint  ${c.fingerprint}`,
    `  https for    ${c.serves.join(', ') || 'none of the app\'s names'}`,
    `  http         ${c.redirect ? 'redirects to https (308)' : 'served as well (no redirect)'}`,
    ...(c.hsts ? ['  hsts         Strict-Transport-Security: max-age=31536000'] : []),
    ...autoLines,
  ];
}

export function appListLines(host: string, apps: AppSummary[]): string[] {
  return [`${host}:${apps.length ? '' : ' no apps'}`, ...apps.map((a) => `  ${a.app.padEnd(24)} ${a.current ? `v${a.current}` : '-'}  ${a.urls[0] ?? ''}`)];
}

export function appInfoLines(host: string, info: AppInfo): string[] {
  return [
    `${info.app} on ${host}: ${info.current ? `v${info.current} (${info.release?.image})` : 'no release'}`,
    ...info.urls.map((url) => `  ${url}`),
    ...info.containers.map((c) => `  ${c.name.padEnd(36)} ${c.status.padEnd(24)} ${c.ports}`),
    ...(info.release?.volumes ?? []).map((v) => `  volume ${volumeText(v)} (Docker volume ${dockerVolumeName(info.app, v.name)})`),
    ...(info.services ?? []).map((s) => `  service ${serviceText(s)}`),
  ];
}

export function keyLines(host: string, keys: { name: string; type: string; fingerprint: string }[]): string[] {
  return [`${host}: ${keys.length ? '' : 'no keys (add one with paas keys:add NAME KEY.pub)'}`, ...keys.map((key) => `  ${key.name.padEnd(20)} ${key.type.padEnd(12)} ${key.fingerprint}`)];
}

export function lbLines(host: string, view: LbView): string[] {
  return [
    `${view.app} on ${host}: ${view.balance} (from ${view.source})`,
    ...view.replicas.map((r) => `  ${r.replica.padEnd(8)} 127.0.0.1:${r.port}${r.weight !== undefined ? `  weight ${r.weight}` : ''}`),
  ];
}

export function psLines(host: string, answer: PsResult): string[] {
  const formation = formationText(answer.formation);
  return [
    `=== ${answer.app} on ${host}: ${answer.current !== undefined ? `v${answer.current}${formation ? `, ${formation}` : ''}` : 'no release'}`,
    ...(answer.processes.length ? psTable(answer.processes, answer.current) : ['no containers']),
    ...(answer.volumes?.length ? [`volumes: ${answer.volumes.join(', ')}`] : []),
    ...(answer.services?.length ? [`services: ${answer.services.map(serviceText).join(', ')}`] : []),
  ];
}

/** `paas cron`: each task, when it runs next (UTC) and its newest run on the host. */
export function cronLines(host: string, view: CronView): string[] {
  if (view.tasks.length === 0) return [`${view.app} on ${host}: no scheduled tasks (app.json cron, paas.yml cron:)`];
  return [
    `${view.app} on ${host}:${view.runsCron ? '' : ' (another host of the app runs its tasks: listed only)'}`,
    ...view.tasks.map((task) => {
      const state = task.suspended ? 'suspended' : task.maintenance ? 'maintenance' : `next ${task.next?.slice(0, 16).replace('T', ' ') ?? '-'} UTC`;
      const last = task.last ? `  last ${task.last.container}${task.last.running ? ' (running)' : ''}` : '';
      return `  ${task.id.padEnd(12)} ${task.schedule.padEnd(16)} ${state.padEnd(26)} ${task.command}${last}`;
    }),
  ];
}

/** `paas volumes`: each volume, where it is mounted, and what holds its data. */
export function volumeLines(host: string, view: VolumesView): string[] {
  const lines = [`${view.app} on ${host}:${view.volumes.length ? '' : ' no volumes (paas.yml volumes:, paas volumes:add NAME:/path)'}`];
  for (const volume of view.volumes) {
    const state = volume.mounted ? `mounted by v${view.current}` : 'mounted from the next release';
    lines.push(`  ${volume.name.padEnd(16)} ${volume.path.padEnd(28)} ${(volume.processes?.join(',') ?? 'all processes').padEnd(16)} ${volume.source.padEnd(12)} ${state}${volume.exists ? '' : ' (no data yet)'}`);
  }
  for (const name of view.unmounted) lines.push(`  ${name}: data kept, mounted by no release (apps:destroy --volumes removes it)`);
  return lines;
}
