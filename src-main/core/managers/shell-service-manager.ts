import { load } from '../lazy-modules.js';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ResolvedService } from '../../../src-shared/config-schema.js';
import type { Probe, ProbeResult } from '../probes/probe.js';
import { OutputTail } from './output-tail.js';
import { pidAliveSync } from '../signals/pid-watch.js';
import { stopGroup } from './process-group.js';
import type { InflightRestart, InflightRestarts } from './inflight-restarts.js';
import type { RestartOptions, RestartResult, ServiceManager } from './service-manager.js';

/** What the shell strategy needs: a probe per service and where commands run. */
export interface ShellServiceManagerOptions {
  probes: { get(service: ResolvedService): Probe };
  /** Directory restart commands run in (CONTRACT §1 workingDir). */
  workingDir: string;
  /** After SIGTERM to a timed-out command's group, how long before SIGKILL. Default 5000 ms. */
  killGraceMs?: number;
  logger?: { warn(obj: object, msg: string): void };
  /** Records each command's process group while it runs, for the next Warden after a crash. */
  inflight?: InflightRestarts;
}

/** The wrapper every command runs in: wait for the go line, then become `/bin/sh -c <command>`. */
const HELD_START = 'read -r _; exec /bin/sh -c "$0"';

/** How often an adopted command (not our child: no exit event) is looked at. */
const ADOPT_POLL_MS = 100;

/** Bytes of combined stdout/stderr kept for the restart result. */
export const OUTPUT_TAIL_BYTES = 4096;

/**
 * After the shell exits, how long to wait for its output pipe to close. A background child that
 * inherited the pipe keeps it open indefinitely; that must not hold up the result.
 */
const DRAIN_GRACE_MS = 200;

/** Restarts services by running their `restartCmd` with `/bin/sh -c`, each in its own process group. */
export class ShellServiceManager implements ServiceManager {
  readonly type = 'shell' as const;
  readonly #opts: ShellServiceManagerOptions;
  readonly #killGraceMs: number;
  /** Restarts in flight: close() aborts them and waits. */
  readonly #inFlight = new Map<AbortController, Promise<RestartResult>>();
  /** Pipes still held open by background children of finished commands. */
  readonly #lingering = new Set<Readable>();
  #closed = false;

  constructor(opts: ShellServiceManagerOptions) {
    this.#opts = opts;
    this.#killGraceMs = opts.killGraceMs ?? 5000;
  }

  /** The service's own probe: the shell strategy has no other view of health. */
  checkHealth(service: ResolvedService, signal?: AbortSignal): Promise<ProbeResult> {
    return this.#opts.probes.get(service).check(signal);
  }

  /**
   * Run `restartCmd` (after `stopCmd` on a manual restart, when set); never rejects. Each command
   * has `restartTimeout`; timeout or abort kills the running command's whole process group.
   */
  async restart(service: ResolvedService, signal?: AbortSignal, opts: RestartOptions = {}): Promise<RestartResult> {
    if (service.restartCmd === null) return failure('restartCmd is null (monitor only)');
    const start = service.restartCmd;
    return this.#tracked(signal, (s) => this.#stopThenStart(service, start, opts.manual === true ? service.stopCmd : undefined, s));
  }

  /**
   * The release gate's halves: stopCmd, then restartCmd (CONTRACT §11) — for a service with a
   * stopCmd and a pidfile whose server is gone (a crash: nothing to stop, its memory to wait for).
   * While that server still runs (loading, or hung), the start script decides: the ai/ scripts wait
   * for a loading instance instead of killing it, and run the same gate when they replace one.
   */
  canStopAndStart(service: ResolvedService): boolean {
    return service.stopCmd !== undefined && service.restartCmd !== null && service.pidfile !== undefined && !pidfileAlive(service.pidfile);
  }

  stopService(service: ResolvedService, signal?: AbortSignal): Promise<RestartResult> {
    return this.#tracked(signal, (s) => (service.stopCmd ? this.#run(service, service.stopCmd, s) : Promise.resolve(failure('no stopCmd'))));
  }

  startService(service: ResolvedService, signal?: AbortSignal): Promise<RestartResult> {
    return this.#tracked(signal, (s) => (service.restartCmd ? this.#run(service, service.restartCmd, s) : Promise.resolve(failure('restartCmd is null (monitor only)'))));
  }

  /** Run one command under the manager's watch: close() aborts it and waits. */
  async #tracked(signal: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<RestartResult>): Promise<RestartResult> {
    if (this.#closed) return failure('aborted (manager closed)');
    if (signal?.aborted) return failure('aborted');
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = run(controller.signal);
    this.#inFlight.set(controller, done);
    try {
      return await done;
    } finally {
      this.#inFlight.delete(controller);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Follow a restart command a previous Warden started and did not see end (CONTRACT §9.1): wait
   * until its leader exits, or kill its whole group at its deadline (or on abort). It is not our
   * child, so its exit code is unknown: readiness polling decides whether it worked.
   */
  async adopt(service: ResolvedService, entry: InflightRestart, signal?: AbortSignal): Promise<RestartResult> {
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const run = this.#follow(service, entry, controller.signal);
    this.#inFlight.set(controller, run);
    try {
      return await run;
    } finally {
      this.#inFlight.delete(controller);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async #follow(service: ResolvedService, entry: InflightRestart, signal: AbortSignal): Promise<RestartResult> {
    const inflight = this.#opts.inflight;
    try {
      for (;;) {
        if (!inflight || !inflight.running(entry)) return { ok: true, output: '' };
        const left = entry.deadline - Date.now();
        if (signal.aborted || this.#closed || left <= 0) {
          await stopGroup(entry.pgid, this.#killGraceMs).catch(() => undefined);
          if (left <= 0) return failure(`timed out (adopted from a previous Warden; process group ${entry.pgid} killed)`, '', undefined, true);
          return failure('aborted');
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(ADOPT_POLL_MS, left));
          signal.addEventListener('abort', done, { once: true });
          function done() {
            clearTimeout(timer);
            signal.removeEventListener('abort', done);
            resolve();
          }
        });
      }
    } finally {
      inflight?.remove(service.name, entry.pgid);
    }
  }

  /** Abort every restart in flight (killing its group) and release pipes left by background children. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#inFlight.keys()) controller.abort();
    await Promise.all(this.#inFlight.values());
    for (const stream of this.#lingering) stream.destroy();
    this.#lingering.clear();
  }

  async #stopThenStart(service: ResolvedService, start: string, stop: string | undefined, signal: AbortSignal): Promise<RestartResult> {
    if (stop === undefined) return this.#run(service, start, signal);
    const stopped = await this.#run(service, stop, signal);
    if (!stopped.ok) return { ...stopped, reason: `stop command failed: ${stopped.reason}` };
    const started = await this.#run(service, start, signal);
    // One tail for both, the start's last: that is what a person reads first.
    const output = new OutputTail(OUTPUT_TAIL_BYTES);
    output.push(`${stopped.output}\n`);
    output.push(started.output);
    return { ...started, output: output.toString() };
  }

  async #run(service: ResolvedService, cmd: string, signal: AbortSignal): Promise<RestartResult> {
    const { execa } = await load.execa();
    // Aborted between stopCmd and restartCmd (Warden stopping): the start must not run.
    if (signal.aborted) return failure('aborted');
    const tail = new OutputTail(OUTPUT_TAIL_BYTES);
    // The command is the user's own config string, passed whole as one argument: nothing is interpolated.
    // The command is held at a `read` until its in-flight record is on disk, then exec'd in the
    // same process (same pid and group): nothing of it runs before a crash of Warden could be
    // followed up (§9.1). It is passed as $0, a separate argument: nothing is interpolated.
    const child = execa('/bin/sh', ['-c', HELD_START, cmd], {
      cwd: this.#opts.workingDir,
      shell: false,
      detached: true, // leads its own process group, so the whole tree can be signalled
      stdin: 'pipe',
      // Warden's own variables (the API token above all) stay home (CONTRACT §10).
      env: childEnvironment(process.env),
      extendEnv: false,
      buffer: false,
      reject: false,
      forceKillAfterDelay: false,
    });
    // Settles only once every pipe closes, which a background child can delay forever, so it is
    // awaited only when the spawn itself failed. With reject:false it is not expected to reject.
    child.catch(() => undefined);
    const streams = [child.stdout, child.stderr].filter((s): s is Readable => s !== null);
    for (const s of streams) s.on('data', (chunk: Buffer | string) => tail.push(chunk));

    const pid = child.pid;
    if (pid === undefined) {
      const result = await child;
      // A failed spawn always carries execa's originalMessage (the cause, without the command line).
      const message = String(result.originalMessage);
      return failure(`could not start the command: ${message.split('\n')[0]}`, message);
    }

    this.#record(service, pid);
    child.stdin?.on('error', () => undefined); // it may be gone already (exec failed)
    child.stdin?.end('\n'); // go; then the command's stdin is at EOF, like /dev/null
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));

    let cause: 'timeout' | 'aborted' | null = null;
    let stopping: Promise<unknown> = Promise.resolve();
    const stop = (why: 'timeout' | 'aborted') => {
      // Whichever comes first wins; the other can no longer fire.
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      cause = why;
      stopping = stopGroup(pid, this.#killGraceMs).then(
        (outcome) => {
          if (outcome === 'killed') {
            this.#opts.logger?.warn({ service: service.name, pgid: pid }, 'restart command ignored SIGTERM; process group killed');
          }
        },
        (err: unknown) => this.#opts.logger?.warn({ service: service.name, pgid: pid, err }, 'could not signal the restart command'),
      );
    };
    // setTimeout fires at once beyond 2^31-1 ms (~24.8 days): clamp rather than kill at once.
    const timer = setTimeout(() => stop('timeout'), Math.min(service.restartTimeout * 1000, 2 ** 31 - 1));
    const onAbort = () => stop('aborted');
    signal.addEventListener('abort', onAbort, { once: true });

    const exit = await exited;
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    await stopping;
    this.#opts.inflight?.remove(service.name, pid);

    // Collect the last output, but do not wait on a pipe a background child holds open.
    let drainTimer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      closed.then(() => true),
      new Promise<boolean>((resolve) => (drainTimer = setTimeout(() => resolve(false), DRAIN_GRACE_MS))),
    ]);
    clearTimeout(drainTimer);
    if (!drained) this.#keepDraining(streams);
    const output = tail.toString();

    if (cause === 'timeout') {
      return failure(`timed out after ${service.restartTimeout} s (process group killed)`, output, exit, true);
    }
    if (cause === 'aborted') return failure('aborted', output, exit);
    if (exit.code === 0) return { ok: true, output };
    if (exit.code === 127) return failure(`command not found: ${cmd}`, output, exit);
    if (exit.code === 126) return failure(`command not executable (permission denied?): ${cmd}`, output, exit);
    if (exit.code !== null) return failure(`exit code ${exit.code}`, output, exit);
    // Node reports either an exit code or the signal that ended the process.
    return failure(`killed by ${String(exit.signal)}`, output, exit);
  }

  /** Write the in-flight record; a full disk costs the record (logged), never the restart. */
  #record(service: ResolvedService, pgid: number): void {
    try {
      this.#opts.inflight?.record(service.name, pgid, service.restartTimeout * 1000);
    } catch (err) {
      this.#opts.logger?.warn({ service: service.name, pgid, err }, 'could not record the restart in flight');
    }
  }

  /**
   * A background child (e.g. a server started with `&`) still writes to our pipe. Closing it would
   * kill that child with SIGPIPE on its next write, so keep reading (into the bounded tail, which
   * nobody reads any more), without holding the event loop open, until the child closes it or the
   * manager is closed.
   */
  #keepDraining(streams: Readable[]): void {
    for (const s of streams) {
      this.#lingering.add(s);
      s.once('close', () => this.#lingering.delete(s));
      (s as Readable & { unref?: () => void }).unref?.();
    }
  }
}

/** The environment restart commands (and the servers they start) get: Warden's, less every WARDEN_* variable. */
export function childEnvironment(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && !k.startsWith('WARDEN_')) out[k] = v;
  return out;
}

function failure(
  reason: string,
  output = '',
  exit: { code: number | null; signal: string | null } = { code: null, signal: null },
  timedOut = false,
): RestartResult {
  return { ok: false, reason, output, exitCode: exit.code, signal: exit.signal, timedOut };
}

/** Does the pidfile name a running process? (Sync: read once, at the start of a restart.) */
function pidfileAlive(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return false;
  }
  return Number.isInteger(pid) && pid > 1 && pidAliveSync(pid);
}
