import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { PaasError } from '../errors.js';
import type { HostBuildRequest, HostFacts, RolloutResult } from '../agent/protocol.js';
import type { ReleaseSpec } from '../release/types.js';
import { END_FRAME, encodeFrame } from '../agent/protocol.js';
import type { HostAgent } from './agent.js';

export type BuildAnswer = { missing: string[] } | { imageId: string; ms: number };

/**
 * The CLI's end of the agent's `deploy` session on one host (see src/agent/deploy-session.ts):
 * one agent process that holds the app's lock from the start, tells the host's facts, builds
 * the source it is sent and rolls out the release. Events the agent names ("info", "built",
 * "missing", "released") answer requests; the others are progress lines for `report`, kept until
 * a step takes them.
 */
export class DeploySession {
  private readonly input = new PassThrough();
  private readonly answers = new Map<string, string[]>();
  private readonly waiting = new Map<string, { resolve: (message: string) => void; reject: (error: unknown) => void }[]>();
  private readonly progress: string[] = [];
  private reporter: ((line: string) => void) | undefined;
  private ended: unknown;
  private readonly stopped = new AbortController();
  /** Resolves when the agent exits (after close(), or at its first error). */
  readonly finished: Promise<unknown>;
  /** Whether the host's standby agent took the session, or a new agent process was started. */
  via: 'standby' | 'process' | undefined;

  constructor(agent: HostAgent, options: { app: string; by: string; command: string; waitMs: number }) {
    this.finished = agent.call('deploy', { app: options.app, by: options.by, command: options.command, wait: options.waitMs }, {
      stdin: this.input,
      onEvent: (message, step) => this.onEvent(message, step),
      standby: true,
      onStart: (via) => { this.via = via; },
    });
    this.finished.then(
      () => this.end(new PaasError('host', 'the agent ended the deploy session early', { where: agent.label })),
      (error) => this.end(error),
    );
  }

  private onEvent(message: string, step: string | undefined): void {
    if (step === 'info' || step === 'built' || step === 'missing' || step === 'released') {
      const waiter = this.waiting.get(step)?.shift();
      if (waiter) waiter.resolve(message);
      else this.answers.set(step, [...(this.answers.get(step) ?? []), message]);
      return;
    }
    if (this.reporter) this.reporter(message);
    else this.progress.push(message);
  }

  private end(error: unknown): void {
    this.ended ??= error;
    this.stopped.abort();
    for (const waiters of this.waiting.values()) for (const waiter of waiters.splice(0)) waiter.reject(this.ended);
  }

  /** The next answer of one of these kinds (and which kind it was). */
  private answer(...steps: string[]): Promise<{ step: string; message: string }> {
    for (const step of steps) {
      const message = this.answers.get(step)?.shift();
      if (message !== undefined) return Promise.resolve({ step, message });
    }
    if (this.ended !== undefined) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      const entries = steps.map((step) => {
        const entry = {
          resolve: (message: string) => { remove(); resolve({ step, message }); },
          reject: (error: unknown) => { remove(); reject(error); },
        };
        this.waiting.set(step, [...(this.waiting.get(step) ?? []), entry]);
        return [step, entry] as const;
      });
      const remove = () => {
        for (const [step, entry] of entries) this.waiting.set(step, (this.waiting.get(step) ?? []).filter((e) => e !== entry));
      };
    });
  }

  /** Progress lines go to `report` from now on (and the ones kept so far, at once). */
  report(to: (line: string) => void): void {
    this.reporter = to;
    this.progress.splice(0).forEach(to);
  }

  /** The host's facts and the app's state, read under the lock (what the `info` verb answers). */
  async info(): Promise<HostFacts> {
    return JSON.parse((await this.answer('info')).message) as HostFacts;
  }

  /** Sends the build context (gzip'd tar; its bytes are added to `sent`) and waits for the host's build, or for the images it lacks. */
  async build(request: HostBuildRequest & { tag: string }, archive: Readable, sent = { bytes: 0 }): Promise<BuildAnswer> {
    this.write(`${JSON.stringify({ build: request })}\n`);
    for await (const chunk of archive) {
      sent.bytes += (chunk as Buffer).length;
      for (const frame of encodeFrame(chunk as Buffer)) {
        if (!this.write(frame)) await once(this.input, 'drain', { signal: this.stopped.signal });
      }
    }
    this.write(END_FRAME);
    const { step, message } = await this.answer('built', 'missing');
    return step === 'missing' ? { missing: JSON.parse(message) as string[] } : JSON.parse(message) as { imageId: string; ms: number };
  }

  /** Rolls out the release (of the image built by build(), or of spec.image); resolves once it serves. */
  async release(spec: ReleaseSpec): Promise<RolloutResult> {
    this.write(`${JSON.stringify({ release: spec })}\n`);
    return JSON.parse((await this.answer('released')).message) as RolloutResult;
  }

  private write(data: string | Buffer): boolean {
    if (this.ended !== undefined) throw this.ended;
    return this.input.write(data);
  }

  /** Ends the session: the agent releases the lock and exits. */
  async close(): Promise<void> {
    this.input.end();
    await this.finished.catch(() => {});
  }
}
