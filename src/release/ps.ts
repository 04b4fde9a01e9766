import { WEB } from './types.js';

/** One container of an app on a host, as `paas ps` shows it. */
export interface ProcessRow {
  /** web.1, worker.2 */
  process: string;
  type: string;
  replica: number;
  /** Restart generation (ps:restart), 0 for a release's first containers. */
  generation: number;
  release: number;
  /** Docker's state: running, exited, restarting, ... */
  state: string;
  /** Seconds since the container started, when it runs. */
  uptimeSeconds?: number;
  restarts: number;
  cpuPercent?: number;
  memoryBytes?: number;
  /** --memory of the container, when it has one. */
  memoryLimitBytes?: number;
  /** --cpus of the container, when it has one. */
  cpuLimit?: number;
  container: string;
}

/** What `docker inspect` prints for each container with INSPECT_FORMAT. */
export interface InspectLine {
  name: string;
  labels: Record<string, string> | null;
  status: string;
  startedAt: string;
  restarts: number;
  memory: number;
  nanoCpus: number;
}

export const INSPECT_FORMAT = '{"name":{{json .Name}},"labels":{{json .Config.Labels}},"status":{{json .State.Status}},"startedAt":{{json .State.StartedAt}},"restarts":{{.RestartCount}},"memory":{{.HostConfig.Memory}},"nanoCpus":{{.HostConfig.NanoCpus}}}';

const UNITS: Record<string, number> = {
  b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4,
};

/** Docker's printed sizes: "12.5MiB", "1.2GB", "0B" -> bytes (rounded); undefined when unreadable. */
export function parseDockerSize(text: string): number | undefined {
  const match = /^\s*([\d.]+)\s*([a-z]+)\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = UNITS[match[2]!.toLowerCase()];
  const value = Number(match[1]);
  return unit === undefined || !Number.isFinite(value) ? undefined : Math.round(value * unit);
}

/** A `docker stats --no-stream --format '{{json .}}'` line -> name, CPU % and memory in use. */
export function parseStatsLine(line: string): { name: string; cpuPercent?: number; memoryBytes?: number } | undefined {
  let stats: { Name?: string; CPUPerc?: string; MemUsage?: string };
  try {
    stats = JSON.parse(line) as typeof stats;
  } catch {
    return undefined;
  }
  if (!stats.Name) return undefined;
  const cpu = Number.parseFloat(stats.CPUPerc ?? '');
  const memory = parseDockerSize((stats.MemUsage ?? '').split('/')[0] ?? '');
  return { name: stats.Name, ...(Number.isFinite(cpu) ? { cpuPercent: cpu } : {}), ...(memory !== undefined ? { memoryBytes: memory } : {}) };
}

/** One INSPECT_FORMAT line -> a row (without stats), `now` in ms for the uptime. */
export function rowFromInspect(line: InspectLine, now: number): ProcessRow {
  const labels = line.labels ?? {};
  const type = labels['paas.process'] ?? '?';
  const replica = Number(labels['paas.replica']) || 0;
  const started = Date.parse(line.startedAt);
  const running = line.status === 'running';
  return {
    process: `${type}.${replica}`,
    type,
    replica,
    generation: Number(labels['paas.restart']) || 0,
    release: Number(labels['paas.release']) || 0,
    state: line.status,
    ...(running && Number.isFinite(started) ? { uptimeSeconds: Math.max(0, Math.round((now - started) / 1000)) } : {}),
    restarts: line.restarts,
    ...(line.memory > 0 ? { memoryLimitBytes: line.memory } : {}),
    ...(line.nanoCpus > 0 ? { cpuLimit: line.nanoCpus / 1e9 } : {}),
    container: line.name.replace(/^\//, ''),
  };
}

/** web first, then by type, replica, newest release and generation first. */
export function sortRows(rows: ProcessRow[]): ProcessRow[] {
  return [...rows].sort((a, b) =>
    (a.type === WEB ? 0 : 1) - (b.type === WEB ? 0 : 1) || a.type.localeCompare(b.type) || a.replica - b.replica
    || b.release - a.release || b.generation - a.generation);
}

/** 59 -> "59s", 125 -> "2m5s", 7300 -> "2h1m", 90000 -> "1d1h". */
export function formatUptime(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d${Math.floor((seconds % 86400) / 3600)}h`;
}

/** 268435456 -> "256MiB", 1536 -> "1.5KiB" (binary units, as docker stats prints them). */
export function formatMiB(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text}${units[unit]}`;
}

/** The table `paas ps` prints for one host (header plus one line per container). */
export function psTable(rows: ProcessRow[], current: number | undefined): string[] {
  const cells = sortRows(rows).map((r) => [
    r.process,
    r.state + (r.restarts ? ` (${r.restarts} restarts)` : ''),
    `v${r.release}${r.generation ? `-r${r.generation}` : ''}${current !== undefined && r.release !== current ? ' (old)' : ''}`,
    r.uptimeSeconds !== undefined ? formatUptime(r.uptimeSeconds) : '-',
    r.cpuPercent !== undefined ? `${r.cpuPercent.toFixed(1)}%` : '-',
    `${r.memoryBytes !== undefined ? formatMiB(r.memoryBytes) : '-'}${r.memoryLimitBytes ? ` / ${formatMiB(r.memoryLimitBytes)}` : ''}`,
    r.cpuLimit !== undefined ? String(r.cpuLimit) : '-',
  ]);
  const header = ['PROCESS', 'STATE', 'RELEASE', 'UPTIME', 'CPU', 'MEMORY', 'CPUS'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  return [header, ...cells].map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}

/** A `docker logs --timestamps` line: "2024-05-01T10:00:00.12Z text" -> sortable time (9 fraction digits) and text. */
export function parseTimestamped(line: string): { time: string; text: string } {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z (.*)$/s.exec(line);
  if (!match) return { time: '', text: line };
  return { time: `${match[1]}.${(match[2] ?? '').padEnd(9, '0')}Z`, text: match[3]! };
}

export interface LogLine {
  /** web.1 */
  process: string;
  /** Sortable UTC time (see parseTimestamped); '' when docker gave none. */
  time: string;
  text: string;
  /** The host's label, set by the CLI when an app has several hosts. */
  host?: string;
}

/** Lines of several containers (and hosts) in time order; equal times keep their order. Last `tail` only, when given. */
export function mergeLogLines(lines: LogLine[], tail?: number): LogLine[] {
  const sorted = lines.map((line, index) => ({ line, index }))
    .sort((a, b) => (a.line.time < b.line.time ? -1 : a.line.time > b.line.time ? 1 : a.index - b.index))
    .map(({ line }) => line);
  return tail !== undefined ? sorted.slice(Math.max(0, sorted.length - tail)) : sorted;
}

/** `-p web` or `-p web.2`: whether a container's process matches. */
export function matchesProcess(filter: string | undefined, type: string, replica: number): boolean {
  if (filter === undefined) return true;
  return filter.includes('.') ? filter === `${type}.${replica}` : filter === type;
}

export const PROCESS_FILTER = /^[A-Za-z0-9_-]{1,30}(\.\d{1,3})?$/;
