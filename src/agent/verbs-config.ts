import { randomBytes } from 'node:crypto';
import { PaasError } from '../errors.js';
import { applyChange, changeDescription, isConfigChange, releaseEnv, type ConfigChange } from '../config/changes.js';
import { maskValue, parseAssignments, parseKeys } from '../config/vars.js';
import { MessageReader } from './messages.js';
import { networkCreate, oneOffName, planOneOff } from '../release/containers.js';
import { DEFAULTS, type Release, type ReleaseSpec } from '../release/types.js';
import { readAppConfig, writeAppConfig } from './config-store.js';
import { start } from './exec.js';
import { createContainer, engineGet, ensureNetwork, removeContainer } from './engine.js';
import { withAppLock } from './app-lock.js';
import { readRolloutInputs, rolloutLocked, type RolloutResult } from './rollout.js';
import { readState } from './state.js';
import type { VerbContext } from './verbs.js';
import { flag, flags, parseJsonRequest, requireFlag } from './args.js';

/*
 * Config vars and one-off processes. Values come in on stdin (never argv) and leave only in the
 * answer of `config-show --reveal`; events and errors name variables, never their values.
 */



export interface ConfigShowResult {
  app: string;
  /** Values, or their masks (maskValue) unless --reveal. */
  vars: Record<string, string>;
  masked: boolean;
  /** Asked-for keys (--key) that are not set. */
  missing: string[];
}

async function configShow({ args }: VerbContext): Promise<ConfigShowResult> {
  const app = requireFlag(args, 'app');
  const reveal = args.includes('--reveal');
  const keys = flags(args, 'key');
  const stored = await readAppConfig(app);
  const chosen = keys.length ? Object.fromEntries(Object.entries(stored).filter(([k]) => keys.includes(k))) : stored;
  const vars = Object.fromEntries(Object.entries(chosen).map(([k, v]) => [k, reveal ? v : maskValue(v)]));
  return { app, vars, masked: !reveal, missing: keys.filter((k) => !Object.hasOwn(stored, k)) };
}

export interface ConfigSetResult {
  app: string;
  /** Names whose value changed. */
  changed: string[];
  /** The new release, when the app runs and something changed. */
  release?: RolloutResult;
}

/** The change on stdin, checked as the CLI checks it (a hand-made request gets the same refusals). */
export function readChange(text: string): ConfigChange {
  const value = parseJsonRequest(text, 'the config change on stdin');
  if (!isConfigChange(value)) throw new PaasError('usage', 'the config change on stdin is not {set: {KEY: value}, unset: [KEY]}');
  const set = Object.keys(value.set).length ? parseAssignments(Object.entries(value.set).map(([k, v]) => `${k}=${v}`)) : {};
  const unset = value.unset.length ? parseKeys(value.unset) : [];
  if (Object.keys(set).length + unset.length === 0) throw new PaasError('usage', 'the config change is empty');
  return { set, unset };
}

/**
 * config:set / config:unset on this host: the change applied to the stored vars, and when the
 * app runs, a new release of the current release's image with them (release phase included),
 * through the same rollout as a deploy. Nothing is stored if that rollout fails.
 */
async function configSet({ args, emit, readStdin }: VerbContext): Promise<ConfigSetResult> {
  const app = requireFlag(args, 'app');
  // The CLI holds the app's lock on every host (lockApp) before it changes any.
  const token = requireFlag(args, 'lock-token');
  const change = readChange(await readStdin());
  return withAppLock(app, { holder: flag(args, 'by') ?? 'unknown', command: 'config' }, { token }, async () => {
    const { vars, changed } = applyChange(await readAppConfig(app), change);
    if (changed.length === 0) {
      emit('no config var changed: no new release', 'config');
      return { app, changed };
    }
    const state = await readState(app);
    const current = state.releases.find((r) => r.version === state.current);
    if (!current) {
      await writeAppConfig(app, vars);
      emit(`${app} has no release yet: the next deploy uses the new config`, 'config');
      return { app, changed };
    }
    const spec = specFrom(current, app, {
      version: Number(flag(args, 'version') ?? 0),
      createdBy: flag(args, 'by') ?? 'unknown',
      keepReleases: Number(flag(args, 'keep') ?? DEFAULTS.keepReleases),
      description: changeDescription({ set: Object.fromEntries(Object.keys(change.set).map((k) => [k, ''])), unset: change.unset }),
    });
    const options = { config: vars, releasePhase: true };
    const result = await rolloutLocked(spec, emit, readRolloutInputs(app, options), [], options);
    return { app, changed, release: result };
  });
}

/** A new release of the same image and settings as `current`. */
function specFrom(current: Release, app: string, fields: Pick<ReleaseSpec, 'version' | 'createdBy' | 'keepReleases' | 'description'>): ReleaseSpec {
  const { createdAt: _at, status: _status, configVars: _names, ...kept } = current;
  return { ...kept, app, ...fields };
}

/** The argv of `run` after `--`, and its flags before. */
export function splitRunArgs(args: string[]): { flags: string[]; argv: string[] } {
  const at = args.indexOf('--');
  if (at === -1) return { flags: args, argv: [] };
  return { flags: args.slice(0, at), argv: args.slice(at + 1) };
}

/**
 * `paas run`: a one-off container of the current release's image and environment, stdio attached.
 * After one JSON line ({type: event, step: attached}) stdout is the container's output, and the
 * agent's exit code is the command's. With --tty docker shares the SSH session's pty; without,
 * stdin arrives framed (host/frames.ts) so that a dropped connection removes the container.
 */
async function runOneOff({ args }: VerbContext): Promise<never> {
  const { flags, argv } = splitRunArgs(args);
  const app = requireFlag(flags, 'app');
  const tty = flags.includes('--tty');
  if (argv.length === 0) throw new PaasError('usage', 'no command to run', { hint: 'paas run -- COMMAND [ARG ...]' });
  const state = await readState(app);
  const current = state.releases.find((r) => r.version === state.current);
  if (!current) throw new PaasError('usage', `${app} has no release on this host yet`, { hint: 'deploy it first: paas deploy' });
  const env = releaseEnv(current.env, await readAppConfig(app));
  const name = oneOffName(app, randomBytes(4).toString('hex'));
  await ensureNetwork(networkCreate(app));
  // Created through the Engine API (the env travels in its body); `docker start` only attaches.
  const id = await createContainer(name, planOneOff({ app, version: current.version, image: current.image, port: current.port }, env, {
    kind: 'run', argv, interactive: true, tty,
  }));
  process.stdout.write(`${JSON.stringify({ type: 'event', message: name, step: 'attached' })}\n`);
  const child = start('docker', ['start', '--attach', '--interactive', id], [tty ? 'inherit' : 'pipe', 'inherit', 'inherit']);
  let finishing = false;
  const finish = async (code: number) => {
    if (finishing) return;
    finishing = true;
    // Whatever ended first, the container goes.
    await removeContainer(id).catch(() => {});
    process.exit(code);
  };
  for (const signal of ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGPIPE'] as const) {
    process.on(signal, () => { void finish(129); });
  }
  if (!tty) {
    child.stdin!.on('error', () => {});
    // The end frame closes the command's stdin. The channel's stdin ending without it means the
    // CLI is gone (Ctrl-C, dropped connection); a malformed frame is a bad request.
    new MessageReader(process.stdin).frames(child.stdin!).catch((error: unknown) => {
      void finish(error instanceof PaasError && error.kind === 'usage' ? 2 : 130);
    });
  }
  child.on('error', () => { void finish(127); });
  child.on('close', (code, signal) => {
    // A command that could not start (not found: 127, not executable: 126) fails `docker start`
    // itself; the engine keeps the code it would have had, as `docker run` reports it.
    const failed = code ?? (signal ? 128 + 9 : 1);
    void (failed === 0 ? Promise.resolve(0) : engineGet<{ State?: { ExitCode?: number } }>(`/containers/${id}/json`).then((answer) => answer.body?.State?.ExitCode || failed, () => failed))
      .then((exit) => finish(exit));
  });
  return new Promise<never>(() => {});
}

export const CONFIG_VERBS: Record<string, (context: VerbContext) => Promise<unknown>> = {
  'config-show': configShow,
  'config-set': configSet,
  run: runOneOff,
};
