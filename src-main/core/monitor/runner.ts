import type { Logger } from 'pino';
import type { ResolvedService } from '../../../src-shared/config-schema.js';
import type { ServiceAction, ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { InflightRestart } from '../managers/inflight-restarts.js';
import type { RestartResult, ServiceManager } from '../managers/service-manager.js';
import type { ProbeResult } from '../probes/probe.js';
import { classify } from '../causes/classify.js';
import { logOffset, logSince } from '../causes/log-tail.js';
import type { GpuLocks } from '../gpu/gpu-locks.js';
import type { GpuMonitor } from '../gpu/gpu-monitor.js';
import { restartThroughGate, usesReleaseGate } from '../gpu/gpu-restart.js';
import type { Clock } from './clock.js';
import { DeepCheckCadence } from './deep-check-cadence.js';
import { resolveDeepCheck } from '../probes/deep-check.js';
import { initialState, machineSettings, nextRetryAt, type ActionResult, type Diagnosis, type Effect, type Input, type MachineSettings, type MachineState } from './machine.js';
import { transitionInPlace, waitField } from './transitions.js';

const LATENCY_HISTORY = 60;
/** Node runs a timer longer than 2^31-1 ms after 1 ms: longer waits are cut to this (≈ 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The input a timer gives: one object for all (inputs are never changed). */
const TICK: Input = Object.freeze({ type: 'tick' });

/** A service as the monitor runs it: its resolved settings and the strategy that acts on it. */
export interface ServiceRuntime {
  svc: ResolvedService;
  manager: ServiceManager;
  /** Where its restart commands run; a deep check's relative file path is read from there (default: the current directory). */
  workingDir?: string;
}

export interface RunnerDeps {
  clock: Clock;
  logger: Logger;
  emit(event: ServiceStatusEvent): void;
  /** Every probe result (metrics, latency charts); never changes state. */
  probed(service: string, result: ProbeResult): void;
  /** Resolves once no other restart of this service is in flight (one of a runner being retired). */
  restartGate?(): Promise<void>;
  /** The service's own log, read to classify a failure (default: none). */
  logFileOf?(svc: ResolvedService): string | null;
  /** GPU telemetry, for the release gate of a GPU service's restart (CONTRACT §11). */
  gpu?: GpuMonitor;
  /** One load per GPU: shared by every runner of a monitor. */
  gpuLocks?: GpuLocks;
}

/**
 * Carries out one service's state machine: feeds it inputs, and runs the effects it returns —
 * one timer, at most one probe and one restart in flight, each with its own abort signal.
 * Every decision is `transition()`'s; this class only does I/O and keeps time.
 */
export class ServiceRunner {
  private state: MachineState;
  private runtime: ServiceRuntime;
  private settings: MachineSettings;
  private timer: unknown = null;
  private probeAbort: AbortController | null = null;
  private restartAbort: AbortController | null = null;
  private probeDone: Promise<void> | null = null;
  private restartDone: Promise<void> | null = null;
  private diagnoseDone: Promise<void> | null = null;
  /** Where the service's log stood when the last restart began: what it wrote since tells why it failed. */
  private logFrom = 0;
  private readonly latencies: number[] = [];
  /** Inputs that arrive while effects run (a subscriber acting from an event) wait their turn. */
  private readonly inbox: Input[] = [];
  private readonly outbox: ServiceStatusEvent[] = [];
  private busy = false;
  private adoption: InflightRestart | null = null;
  /** Waiting in line for the GPU: aborted when the restart is no longer wanted. */
  private lockWait: AbortController | null = null;
  /** The GPU it waits in line for (a settings change that moves or drops `gpu` ends that wait). */
  private lockIndex: number | null = null;
  /** What the release gate learnt on the last restart (another process holds VRAM): it explains a failure after. */
  private gateHint: Diagnosis | undefined;
  /** Healthy, and its GPU processes were looked at since. */
  private gpuNoted = false;
  /** Its deep check (CONTRACT §14), run after health checks that say up. */
  private deep: DeepCheckCadence | null;

  constructor(
    runtime: ServiceRuntime,
    private readonly deps: RunnerDeps,
  ) {
    this.runtime = runtime;
    this.settings = machineSettings(runtime.svc);
    this.state = initialState(deps.clock.now());
    const spec = resolveDeepCheck(runtime.svc, runtime.workingDir ?? process.cwd());
    this.deep = spec && new DeepCheckCadence(spec, this.deps.clock);
  }

  get name(): string {
    return this.settings.name;
  }

  /** Is a timer pending (tests: a stopped runner leaves none). */
  get timerPending(): boolean {
    return this.timer !== null;
  }

  start(): void {
    this.dispatch({ type: 'start' });
  }

  /** Start by following a restart a previous Warden left running (its group is in `entry`). */
  adopt(entry: InflightRestart): void {
    this.adoption = entry;
    this.dispatch({ type: 'adopt', pgid: entry.pgid, startedAt: entry.startedAt });
  }

  act(action: ServiceAction): ActionResult {
    return this.dispatch({ type: 'action', action }) ?? { ok: false, error: 'busy', message: 'try again' };
  }

  trigger(): void {
    this.dispatch({ type: 'signal' });
  }

  /** The services this one depends on, as configured. */
  get dependsOn(): readonly string[] {
    return this.runtime.svc.dependsOn;
  }

  /** A maintenance window covers it until `until` (null: none does); nothing when unchanged. */
  setMaintenance(until: number | null, reason: string | null): void {
    if (this.state.maintenanceUntil !== until || this.state.maintenanceReason !== reason) this.dispatch({ type: 'maintenance', until, reason });
  }

  /** A dependency is down (the root cause's name) or all are healthy (null); nothing when unchanged. */
  setDependency(waitingFor: string | null): void {
    if (this.state.waitingFor !== waitingFor) this.dispatch({ type: 'dependency', waitingFor });
  }

  /** New settings or strategy; a restart in flight finishes with the strategy it started with. */
  update(runtime: ServiceRuntime): void {
    const previous = this.settings;
    // A changed deep check starts afresh; an unchanged one keeps its last result and cadence.
    const spec = resolveDeepCheck(runtime.svc, runtime.workingDir ?? process.cwd());
    if (JSON.stringify(spec) !== JSON.stringify(this.deep?.spec ?? null)) {
      // A run of the old one in flight finishes first (its probe holds it): closing it now would fail it.
      const old = this.deep;
      void (this.probeDone ?? Promise.resolve()).then(() => old?.close());
      this.deep = spec && new DeepCheckCadence(spec, this.deps.clock);
    }
    this.runtime = runtime;
    this.settings = machineSettings(runtime.svc);
    this.dispatch({ type: 'settings', previous });
  }

  /** Stop: abort the probe and the restart in flight (its process group is killed) and wait for both. */
  async stop(): Promise<void> {
    this.dispatch({ type: 'stop', abortRestart: true });
    await this.idle();
    await this.deep?.close();
  }

  /** Removed from the config: nothing new starts; a restart in flight finishes. Resolves when it has. */
  async retire(): Promise<void> {
    this.dispatch({ type: 'stop', abortRestart: false });
    await this.idle();
    await this.deep?.close();
  }

  /**
   * Resolves once nothing is in flight. Called from inside an event (a subscriber), the stop is
   * queued behind other inputs that may still start a probe: look again after each one ends.
   */
  private async idle(): Promise<void> {
    await Promise.resolve(); // let a queued stop run first
    while (this.busy || this.probeDone || this.restartDone || this.diagnoseDone) await Promise.all([this.probeDone, this.restartDone, this.diagnoseDone, Promise.resolve()]);
  }

  /** The current state, as served by the API and the snapshot. */
  view(): ServiceState {
    const s = this.state;
    return {
      service: this.name,
      status: s.status,
      message: s.message,
      timestamp: iso(s.updatedAt),
      attempt: s.attempt,
      maxAttempts: this.settings.serviceMaxRetries,
      nextRetryAt: isoOrNull(nextRetryAt(s)),
      lastCheckAt: isoOrNull(s.lastCheckAt),
      latencyMs: s.latencyMs,
      restarts: s.restarts,
      since: iso(s.since),
      lastFailure: s.lastFailure && { reason: s.lastFailure.reason, output: s.lastFailure.output, at: iso(s.lastFailure.at), cause: s.lastFailure.cause },
      monitorOnly: this.settings.monitorOnly,
      recentLatencies: [...this.latencies],
      ...waitField(s),
      ...(this.runtime.svc.dependsOn.length > 0 ? { dependsOn: [...this.runtime.svc.dependsOn] } : {}),
      ...(s.waitingFor !== null ? { waitingFor: s.waitingFor } : {}),
      ...(s.maintenanceUntil !== null ? { maintenanceUntil: iso(s.maintenanceUntil) } : {}),
      ...(this.deep ? { deepCheck: this.deep.view() } : {}),
    };
  }

  /** The machine's state (tests). */
  get machine(): MachineState {
    return this.state;
  }

  // ---------------------------------------------------------------------------------------------

  /** Run one input through the machine and carry out its effects; returns a manual action's reply. */
  private dispatch(input: Input): ActionResult | undefined {
    if (this.busy) {
      // Re-entered by a subscriber of an event. Other inputs wait their turn; an action needs its
      // answer now and runs at once, which is safe: events are only sent between steps (drain).
      if (input.type !== 'action') {
        this.inbox.push(input);
        return undefined;
      }
      return this.step(input);
    }
    this.busy = true;
    try {
      const reply = this.step(input);
      this.drain();
      return reply;
    } finally {
      this.busy = false;
      this.syncGpuLock();
    }
  }

  /**
   * One load per GPU (CONTRACT §11): the GPU stays this service's from its restart until it is
   * healthy or the attempt ends; a service found loading takes it if free, so others wait for it.
   */
  private syncGpuLock(): void {
    this.noteGpuProcesses();
    const locks = this.deps.gpuLocks;
    if (!locks) return;
    const kind = this.state.phase.kind;
    if (kind !== 'restarting' || (this.runtime.svc.gpu?.index ?? null) !== this.lockIndex) this.lockWait?.abort();
    // A restart still running (paused or removed meanwhile: it is not aborted) keeps its GPU until it ends.
    if (kind === 'restarting' || kind === 'readiness' || this.restartDone) return;
    const gpu = this.runtime.svc.gpu;
    if (kind === 'starting' && gpu) {
      // Its GPU moved in the settings while it loads: the old one is free again.
      if (locks.holder(gpu.index) !== this.name) locks.release(this.name);
      locks.tryAcquire(gpu.index, this.name);
    } else locks.release(this.name);
  }

  /**
   * Once a GPU service is healthy, have its GPU processes looked at: should it die, nvidia-smi may
   * list them (their memory held) after they left /proc, and the release gate still knows them.
   */
  private noteGpuProcesses(): void {
    const healthy = this.state.status === 'healthy';
    if (healthy && !this.gpuNoted && this.runtime.svc.gpu && this.deps.gpu?.available) void this.deps.gpu.snapshot().catch(() => undefined);
    this.gpuNoted = healthy;
  }

  /** Queued inputs first, then events, in order: an event leaves after every effect before it has started. */
  private drain(): void {
    for (;;) {
      const input = this.inbox.shift();
      if (input) {
        this.step(input);
        continue;
      }
      const event = this.outbox.shift();
      if (!event) return;
      this.deps.emit(event);
    }
  }

  private step(input: Input): ActionResult | undefined {
    const { state, effects } = transitionInPlace(this.state, input, this.deps.clock.now(), this.settings);
    this.state = state;
    let reply: ActionResult | undefined;
    for (const fx of effects) reply = this.run(fx) ?? reply;
    return reply;
  }

  private run(fx: Effect): ActionResult | undefined {
    switch (fx.type) {
      case 'emit':
        this.outbox.push(fx.event);
        return undefined;
      case 'schedule':
        this.schedule(fx.at);
        return undefined;
      case 'probe':
        this.probe();
        return undefined;
      case 'restart':
        this.restart(fx.manual, fx.adopted === true);
        return undefined;
      case 'diagnose':
        this.diagnose(fx.reason, fx.output);
        return undefined;
      case 'abort':
        this.probeAbort?.abort();
        if (fx.restart) this.restartAbort?.abort();
        return undefined;
      case 'reply':
        return fx.result;
    }
  }

  private schedule(at: number | null): void {
    const { clock } = this.deps;
    if (this.timer !== null) clock.clearTimeout(this.timer);
    this.timer = null;
    if (at === null) return;
    // A wait cut to Node's limit fires early: the machine then simply sets the timer again.
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, at - clock.now()));
    this.timer = clock.setTimeout(this.onTimer, delay);
  }

  /** Made once per runner: a closure per timer was made for every check of every service (issue 16). */
  private readonly onTimer = (): void => {
    this.timer = null;
    this.dispatch(TICK);
  };

  private probe(): void {
    const { svc, manager } = this.runtime;
    const deep = this.deep;
    // One controller serves probe after probe until one is aborted: there is one probe in flight
    // at a time, and its signal holds one listener for them all (probes/deadline.ts), so nothing
    // builds up on it; a controller per probe was a fifth of what a check allocated (issue 16).
    if (!this.probeAbort || this.probeAbort.signal.aborted) this.probeAbort = new AbortController();
    const signal = this.probeAbort.signal;
    // Promise callbacks made once per runner, not an async function per probe: this runs for every
    // check of every service (issue 16).
    let pending: Promise<ProbeResult>;
    try {
      pending = manager.checkHealth(svc, signal);
    } catch (err) {
      pending = Promise.reject(err as Error);
    }
    if (deep) pending = pending.then((result) => (signal.aborted ? result : deep.follow(result, signal)));
    this.probeDone = pending.then(this.onProbeResult, this.onProbeError);
  }

  /** A probe never throws by contract; a bug in one must not end the loop. */
  private readonly onProbeError = (err: unknown): void => {
    this.deps.logger.error({ err, service: this.name }, 'probe threw');
    this.onProbeResult({ state: 'down', reason: errorText(err), latencyMs: 0 });
  };

  private readonly onProbeResult = (result: ProbeResult): void => {
    this.probeDone = null;
    this.latencies.push(result.latencyMs); // the health check's own: a deep check's is shown apart
    if (this.latencies.length > LATENCY_HISTORY) this.latencies.shift();
    this.deps.probed(this.name, result);
    this.dispatch({ type: 'probed', result });
  };

  private restart(manual: boolean, adopted: boolean): void {
    const adoption = adopted ? this.adoption : null;
    this.adoption = null;
    const abort = new AbortController();
    this.restartAbort = abort;
    this.gateHint = undefined;
    this.deep?.reset();
    this.restartDone = (async () => {
      let result: RestartResult;
      let ran = true;
      try {
        await this.deps.restartGate?.();
        const gpu = await this.waitForGpu(abort.signal);
        // The settings and the strategy as they are once the gates open, not as they were.
        const { svc, manager } = this.runtime;
        this.logFrom = await logOffset(this.logFile());
        if (abort.signal.aborted) result = aborted();
        // Paused, made monitor only or removed while it waited for a previous restart to end, or
        // for its GPU (§9.4); or back by itself while it waited in line for the GPU: not run.
        // A restart a previous Warden left running is always followed (never run twice, §9.1).
        else if (!adoption && (gpu === 'lost' || this.state.phase.kind !== 'restarting' || this.settings.monitorOnly || this.heldBack(manual) || (gpu === 'waited' && (await this.upAgain(abort.signal))))) {
          result = notRun();
          ran = false;
        } else if (adoption && manager.adopt) result = await manager.adopt(svc, adoption, abort.signal);
        else if (this.deps.gpu && usesReleaseGate(svc, manager)) {
          const progress = (message: string, announce: boolean, remainingMs?: number | null) =>
            this.dispatch({ type: 'progress', message, announce, ...(remainingMs === undefined ? {} : { waitUntil: remainingMs === null ? null : this.deps.clock.now() + remainingMs }) });
          const gated = await restartThroughGate(svc, manager, this.deps.gpu, abort.signal, progress);
          result = gated.result;
          this.gateHint = gated.hint;
        } else result = await manager.restart(svc, abort.signal, { manual });
      } catch (err) {
        result = { ok: false, reason: errorText(err), output: '', exitCode: null, signal: null, timedOut: false };
      }
      const diagnosis = result.ok || !ran ? undefined : this.withGateHint(classify({ kind: 'restart', ...result, logTail: await logSince(this.logFile(), this.logFrom) }));
      this.restartAbort = null;
      this.restartDone = null;
      this.dispatch({ type: 'restarted', result, diagnosis, ...(ran ? {} : { notRun: true }) });
    })();
  }

  /**
   * Take this service's GPU, waiting in line while another service on it loads (said on the
   * card): 'free' (no wait, or not a GPU service), 'waited' (got it after a wait), or 'lost' (the
   * wait was given up: stopped, paused, made monitor only — the restart must not run).
   */
  private async waitForGpu(signal: AbortSignal): Promise<'free' | 'waited' | 'lost'> {
    const locks = this.deps.gpuLocks;
    const gpu = this.runtime.svc.gpu;
    if (!locks || !gpu || signal.aborted || this.state.phase.kind !== 'restarting') return 'free';
    const wait = new AbortController();
    this.lockWait = wait;
    this.lockIndex = gpu.index;
    const onAbort = () => wait.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let waited = false;
    try {
      await locks.acquire(
        gpu.index,
        this.name,
        (holder) => {
          waited = true;
          this.dispatch({ type: 'progress', message: `Waiting for ${holder} to finish loading on GPU ${gpu.index}`, announce: true });
        },
        wait.signal,
      );
      return waited ? 'waited' : 'free';
    } catch {
      return 'lost';
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.lockWait = null;
    }
  }

  /** A dependency went down, or a maintenance window began, while it waited: an automatic restart must not run (§14). */
  private heldBack(manual: boolean): boolean {
    return !manual && (this.state.waitingFor !== null || this.state.maintenanceUntil !== null);
  }

  /** After a wait in line: is it up again by itself? Then restarting it would only stop a healthy instance. */
  private async upAgain(signal: AbortSignal): Promise<boolean> {
    const { svc, manager } = this.runtime;
    try {
      const result = await manager.checkHealth(svc, signal);
      // Up to its health check but failing its deep check is not up (CONTRACT §14).
      return (this.deep ? await this.deep.follow(result, signal) : result).state === 'up';
    } catch {
      return false;
    }
  }

  /** A dead process holding the GPU explains any failure; memory another process holds explains a vague one. */
  private withGateHint(d: Diagnosis): Diagnosis {
    const hint = this.gateHint;
    if (!hint) return d;
    if (hint.cause === 'gpu_zombie' || d.cause === 'exit' || d.cause === 'not_ready' || d.cause === 'timeout') return hint;
    return d;
  }

  /** Readiness ran out: what the service's log says since the restart began tells why (§12). */
  private diagnose(reason: string, output: string): void {
    this.diagnoseDone = (async () => {
      const logTail = await logSince(this.logFile(), this.logFrom);
      this.diagnoseDone = null;
      let diagnosis = this.withGateHint(classify({ kind: 'not_ready', reason, output, exitCode: null, timedOut: false, logTail }));
      // It answered its health check, but the real request kept failing: that is the cause (§14).
      if (diagnosis.cause === 'not_ready' && this.deep?.failing) diagnosis = { ...diagnosis, cause: 'deep_check_failed' };
      this.dispatch({ type: 'diagnosed', diagnosis });
    })();
  }

  private logFile(): string | null {
    return this.deps.logFileOf?.(this.runtime.svc) ?? null;
  }
}

function notRun(): RestartResult {
  return { ok: false, reason: 'not run: the service was paused, removed or made monitor only while it waited for the previous restart to end', output: '', exitCode: null, signal: null, timedOut: false };
}

function aborted(): RestartResult {
  return { ok: false, reason: 'aborted', output: '', exitCode: null, signal: null, timedOut: false };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
