import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ServiceAction, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import { PERMANENT_CAUSES, type FailureCause } from '../../../src-shared/causes.js';
import { PROBE_GAP_MS, initialState, type Effect, type Input, type MachineSettings, type MachineState, type PhaseKind } from '../../../src-main/core/monitor/machine.js';
import { transition, transitionInPlace } from '../../../src-main/core/monitor/transitions.js';
import type { RestartResult } from '../../../src-main/core/managers/service-manager.js';
import type { ProbeResult } from '../../../src-main/core/probes/probe.js';

// Random sequences of everything the machine can meet — probes that come back up, loading, down,
// stopped on purpose or thrown; restarts that succeed, fail or time out; pause, resume, reset and
// restart; settings edits (monitor only, max retries, intervals…); signals; time passing — drive
// the pure transition function, and every invariant of CONTRACT §9 is checked after every step.
// fast-check shrinks a failure to a minimal sequence and prints it.
const RUNS = Number(process.env.WARDEN_PROPERTY_RUNS ?? 10_000);

type Command =
  | { kind: 'wait'; ms: number }
  | { kind: 'probeDone'; result: 'up' | 'loading' | 'down' | 'stopped' | 'deep' }
  | { kind: 'restartDone'; result: 'ok' | 'fail' | 'timeout' | 'notRun'; cause: FailureCause }
  | { kind: 'diagnosed'; cause: FailureCause }
  | { kind: 'action'; action: ServiceAction }
  | { kind: 'settings'; change: Partial<MachineSettings> }
  | { kind: 'signal' }
  /** Word from a restart in flight (the release gate's wait, the GPU's queue). */
  | { kind: 'progress'; announce: boolean; wait: 'set' | 'clear' | 'keep' }
  /** A service it depends on goes down (named by its root cause) or all are back (§14). */
  | { kind: 'dependency'; waitingFor: string | null }
  /** A maintenance window begins (until some time from now) or ends (§14). */
  | { kind: 'maintenance'; minutes: number | null };

const settingsChange: fc.Arbitrary<Partial<MachineSettings>> = fc.oneof(
  fc.record({ monitorOnly: fc.boolean() }),
  fc.record({ serviceMaxRetries: fc.integer({ min: 1, max: 5 }) }),
  fc.record({ healthCheckInterval: fc.constantFrom(0.05, 0.3, 1, 5, 15, 60) }),
  fc.record({ serviceBackoffBase: fc.constantFrom(0, 0.2, 1, 5, 20) }),
  fc.record({ startupTimeout: fc.constantFrom(0.5, 2, 20, 120) }),
  fc.record({ failedRetryInterval: fc.constantFrom(0, 30, 600) }),
  fc.record({ resetAfter: fc.constantFrom(0, 10, 60) }),
  fc.record({ restartWhenStopped: fc.boolean() }),
  fc.record({ serviceHealthTimeout: fc.constantFrom(0.1, 2, 5) }),
  fc.record({ fingerprint: fc.constantFrom('v1', 'v2', 'v3') }),
);

/** Causes as the classifier gives them: mostly plain, sometimes one restarting cannot fix. */
const cause = fc.constantFrom<FailureCause>('exit', 'exit', 'timeout', 'not_ready', 'cuda_oom', 'port_in_use', 'model_missing', 'config', 'gpu_lost', 'gpu_zombie', 'vram_busy');

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 120_000 })) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('probeDone' as const), result: fc.constantFrom('up' as const, 'loading' as const, 'down' as const, 'stopped' as const, 'deep' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('restartDone' as const), result: fc.constantFrom('ok' as const, 'fail' as const, 'timeout' as const, 'notRun' as const), cause }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('diagnosed' as const), cause }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('action' as const), action: fc.constantFrom<ServiceAction>('restart', 'pause', 'resume', 'reset') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('settings' as const), change: settingsChange }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('signal' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('progress' as const), announce: fc.boolean(), wait: fc.constantFrom('set' as const, 'clear' as const, 'keep' as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('dependency' as const), waitingFor: fc.constantFrom<string | null>(null, null, 'redis', 'rtdetr') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('maintenance' as const), minutes: fc.constantFrom<number | null>(null, null, 1, 30) }) },
);

const initialSettings: fc.Arbitrary<MachineSettings> = fc.record({
  name: fc.constant('svc'),
  healthCheckInterval: fc.constantFrom(0.05, 1, 15),
  serviceHealthTimeout: fc.constantFrom(0.1, 2, 5),
  serviceMaxRetries: fc.integer({ min: 1, max: 4 }),
  serviceBackoffBase: fc.constantFrom(0, 0.2, 5),
  startupTimeout: fc.constantFrom(1, 20, 120),
  resetAfter: fc.constantFrom(0, 60),
  failedRetryInterval: fc.constantFrom(0, 30, 600),
  monitorOnly: fc.boolean(),
  restartWhenStopped: fc.boolean(),
  fingerprint: fc.constant('v1'),
});

function probeResult(kind: 'up' | 'loading' | 'down' | 'stopped' | 'deep', latencyMs: number): ProbeResult {
  switch (kind) {
    case 'up':
      return { state: 'up', reason: 'HTTP 200', latencyMs };
    case 'loading':
      return { state: 'loading', reason: 'Loading model', latencyMs };
    case 'down':
      return { state: 'down', reason: 'connection refused', latencyMs };
    case 'stopped':
      return { state: 'down', reason: 'container stopped', latencyMs, stoppedOnPurpose: true };
    case 'deep':
      // Up to its health check, but the real request failed (CONTRACT §14).
      return { state: 'down', reason: 'deep check failed: POST /completion: HTTP 500', latencyMs, cause: 'deep_check_failed' };
  }
}

function restartResult(kind: 'ok' | 'fail' | 'timeout' | 'notRun'): RestartResult {
  if (kind === 'ok') return { ok: true, output: 'started' };
  return { ok: false, reason: kind === 'fail' ? 'exit code 1' : 'timed out', output: 'boom', exitCode: kind === 'fail' ? 1 : null, signal: null, timedOut: kind === 'timeout' };
}

const CADENCE: PhaseKind[] = ['watching', 'starting', 'failed', 'paused'];

/** The world around the machine: time, the one timer, what is in flight; and the invariants. */
class World {
  now = 0;
  state: MachineState = initialState(0);
  timer: number | null = null;
  probeStartedAt: number | null = null;
  restarting = false;
  events: ServiceStatusEvent[] = [];
  probes: { at: number; phase: PhaseKind; requested: boolean }[] = [];
  /** A signal, action or settings edit since the last probe started. */
  requested = false;
  /** A signal since the last probe started; a restart that succeeded since then. */
  signalSince = false;
  restartedSince = false;
  /** When the last probe that came sooner than the gap (for a signal) started. */
  lastEarlySignalProbe = -Infinity;
  /** After reset/resume (or a manual restart), the next restart must be attempt 1. */
  expectAttemptOne = false;
  lastAttempt = 0;
  /** A diagnose effect is out: readiness ran out and waits for its answer. */
  diagnosing = false;
  episodeStart: number | null = null;
  loadingSince: number | null = null;

  constructor(public cfg: MachineSettings) {}

  feed(input: Input): Effect[] {
    const before = this.state;
    const copy = structuredClone(before);
    const { state, effects } = transition(before, input, this.now, this.cfg);
    expect(before, 'transition never mutates its input').toEqual(copy);
    // The runner's step, made in place on a state it owns, is the same step.
    const owned = structuredClone(before);
    const inPlace = transitionInPlace(owned, input, this.now, this.cfg);
    expect(inPlace.state, 'transitionInPlace changes the state it is given').toBe(owned);
    expect(inPlace.state, 'transitionInPlace gives the state transition gives').toEqual(state);
    expect(inPlace.effects, 'transitionInPlace gives the effects transition gives').toEqual(effects);
    this.state = state;
    this.check(before, input, effects);
    return effects;
  }

  run(cmd: Command): void {
    switch (cmd.kind) {
      case 'wait': {
        const end = this.now + cmd.ms;
        // The timer fires on the way, as often as it is set again within the wait.
        for (let i = 0; this.timer !== null && this.timer <= end && i < 1000; i++) {
          this.now = Math.max(this.now, this.timer);
          this.timer = null;
          this.feed({ type: 'tick' });
        }
        this.now = Math.max(this.now, end);
        return;
      }
      case 'probeDone':
        if (this.probeStartedAt === null) return;
        this.feed({ type: 'probed', result: probeResult(cmd.result, this.now - this.probeStartedAt) });
        return;
      case 'restartDone': {
        if (!this.restarting) return;
        if (cmd.result === 'notRun') {
          // It never ran (paused or made monitor only while it waited in line, or back by itself).
          const before = this.state;
          this.requested = true; // it asks for a look at once
          this.lastAttempt = Math.max(0, this.lastAttempt - 1); // the attempt is given back
          const fx = this.feed({ type: 'restarted', result: restartResult('fail'), notRun: true });
          expect(this.state.restarts, 'a restart that never ran is not counted').toBe(before.restarts);
          expect(this.state.lastFailure, 'nor is it a failure').toEqual(before.lastFailure);
          expect(fx.filter((e) => e.type === 'emit' && e.event.status === 'restart_failed')).toEqual([]);
          expect(this.state.attempt).toBe(Math.max(0, before.attempt - 1));
          return;
        }
        const result = restartResult(cmd.result);
        this.feed({ type: 'restarted', result, ...(result.ok ? {} : { diagnosis: { cause: cmd.cause, line: null } }) });
        return;
      }
      case 'diagnosed':
        if (!this.diagnosing) return;
        this.diagnosing = false;
        this.feed({ type: 'diagnosed', diagnosis: { cause: cmd.cause, line: null } });
        return;
      case 'action':
        this.requested = true;
        this.feed({ type: 'action', action: cmd.action });
        return;
      case 'settings': {
        this.requested = true;
        const previous = this.cfg;
        this.cfg = { ...this.cfg, ...cmd.change };
        this.feed({ type: 'settings', previous });
        return;
      }
      case 'signal':
        this.requested = true;
        this.signalSince = true;
        this.feed({ type: 'signal' });
        return;
      case 'maintenance': {
        // Its end asks for a look at once, as a signal does.
        if (cmd.minutes === null && this.state.maintenanceUntil !== null) {
          this.requested = true;
          this.signalSince = true;
        }
        const until = cmd.minutes === null ? null : this.now + cmd.minutes * 60_000;
        const fx = this.feed({ type: 'maintenance', until, reason: until === null ? null : 'driver update' });
        // §14: in a window it is paused (unless a person had paused it), and a window's start or end starts nothing.
        if (until !== null && this.state.phase.kind !== 'stopped') expect(this.state.status).toBe('paused');
        expect(fx.filter((e) => e.type === 'restart')).toEqual([]);
        return;
      }
      case 'dependency':
        // A dependency back asks for a look at once, as a signal does.
        if (cmd.waitingFor === null && this.state.waitingFor !== null) {
          this.requested = true;
          this.signalSince = true;
        }
        this.feed({ type: 'dependency', waitingFor: cmd.waitingFor });
        return;
      case 'progress':
        this.feed({ type: 'progress', message: 'Waiting for GPU memory to be released', announce: cmd.announce, ...(cmd.wait === 'keep' ? {} : { waitUntil: cmd.wait === 'set' ? this.now + 30_000 : null }) });
        return;
    }
  }

  private check(before: MachineState, input: Input, effects: Effect[]): void {
    const { state, now, cfg } = this;
    const max = cfg.serviceMaxRetries;
    const probeStartedAt = this.probeStartedAt;
    if (input.type === 'probed') this.probeStartedAt = null;
    if (input.type === 'restarted') {
      this.restarting = false;
      if (input.result.ok) this.restartedSince = true;
    }
    if (input.type === 'tick') this.timer = null;
    const probes = effects.filter((e) => e.type === 'probe');
    const restarts = effects.filter((e) => e.type === 'restart');
    const replies = effects.filter((e) => e.type === 'reply');
    // §14: an unhealthy event says deep_check_failed only for a failed deep check, and a failed
    // deep check that makes a service unhealthy on its own account says so.
    for (const fx of effects) {
      if (fx.type !== 'emit' || fx.event.status !== 'unhealthy') continue;
      const deep = input.type === 'probed' && input.result.cause === 'deep_check_failed';
      if (fx.event.cause === 'deep_check_failed') expect(deep, 'deep_check_failed without a failed deep check').toBe(true);
      if (deep && state.waitingFor === null && state.maintenanceUntil === null) expect(fx.event.cause).toBe('deep_check_failed');
    }

    // After reset/resume the next attempt is 1/N (§9.8), also when that very input starts it.
    if (input.type === 'action' && (input.action === 'reset' || (input.action === 'resume' && before.phase.kind === 'paused'))) this.expectAttemptOne = true;
    // §9.1: at most one restart in flight.
    expect(restarts.length).toBeLessThanOrEqual(1);
    if (restarts.length) {
      expect(this.restarting, 'a restart while one is in flight').toBe(false);
      const r = restarts[0]!;
      // §9.4: never restarted while monitor only; never while paused unless a person asked.
      // (Following a restart a previous Warden left running starts nothing.)
      if (input.type !== 'adopt') expect(cfg.monitorOnly, 'restart of a monitor-only service').toBe(false);
      const manual = input.type === 'action' && input.action === 'restart';
      if (input.type === 'adopt') {
        // Following a previous Warden's restart: the first thing that happens, as attempt 1.
        expect(before.phase.kind).toBe('idle');
        expect(r).toMatchObject({ attempt: 1, adopted: true });
      } else if (!manual) {
        // An automatic restart comes only out of a backoff: its event leaves unhealthy or restart_failed.
        const ev = effects.find((e) => e.type === 'emit' && e.event.status === 'restarting');
        expect(ev?.type === 'emit' && ev.event.previous, 'automatic restart out of backoff only').toMatch(/^(unhealthy|restart_failed)$/);
        expect(before.phase.kind === 'paused' && before.phase.by === 'user', 'never restarted while paused').toBe(false);
      }
      expect(r.attempt).toBeGreaterThanOrEqual(1);
      expect(r.attempt).toBeLessThanOrEqual(max);
      // §9.8: after reset/resume the next attempt is 1/N; a manual restart is always 1/N.
      if (this.expectAttemptOne || manual) expect(r.attempt).toBe(1);
      // Within a round attempts count up one by one; a new episode or round starts at 1.
      if (r.attempt > 1) expect(r.attempt).toBe(this.lastAttempt + 1);
      this.lastAttempt = r.attempt;
      this.expectAttemptOne = false;
      this.restarting = true;
    }
    // §9.8: a manual restart always restarts (unless monitor only, or one is running).
    if (input.type === 'action' && input.action === 'restart' && before.phase.kind !== 'stopped') {
      const ok = !cfg.monitorOnly && !this.restartingBefore(before);
      expect(restarts.length, 'manual restart').toBe(ok ? 1 : 0);
      expect(replies[0]).toMatchObject({ result: { ok } });
    }

    // §9.2: one probe at a time, never two within PROBE_GAP_MS, never busier than the interval.
    expect(probes.length).toBeLessThanOrEqual(1);
    if (probes.length) {
      expect(this.probeStartedAt, 'a probe while one is in flight').toBeNull();
      const last = this.probes.at(-1);
      // Closer than the gap only for a signal (signals themselves kept apart by it) or the first
      // look after a restart: outside events, so never a busy loop.
      if (last && now - last.at < PROBE_GAP_MS) {
        const forSignal = this.signalSince && now - this.lastEarlySignalProbe >= PROBE_GAP_MS;
        expect(forSignal || this.restartedSince, `probes ${now - last.at} ms apart`).toBe(true);
        if (!this.restartedSince) this.lastEarlySignalProbe = now;
      }
      this.signalSince = this.restartedSince = false;
      const phase = before.phase.kind === 'idle' ? 'watching' : state.phase.kind;
      if (last && !this.requested && CADENCE.includes(phase) && CADENCE.includes(last.phase)) {
        expect(now - last.at, `probes in ${phase} closer than the interval`).toBeGreaterThanOrEqual(cfg.healthCheckInterval * 1000);
      }
      this.probes.push({ at: now, phase, requested: this.requested });
      this.requested = false;
      this.probeStartedAt = now;
    }

    // The one timer: the machine's wakeAt is the timer the runner holds; never in the past.
    for (const e of effects) if (e.type === 'schedule') this.timer = e.at;
    expect(this.timer).toBe(state.wakeAt);
    if (state.wakeAt !== null) expect(state.wakeAt).toBeGreaterThanOrEqual(now);
    // No stall: unless stopped, something is always in flight or planned.
    if (state.phase.kind !== 'stopped' && state.phase.kind !== 'idle') {
      const diagnosing = state.phase.kind === 'readiness' && state.phase.diagnosing;
      expect(state.probing || state.restart !== null || state.wakeAt !== null || diagnosing, `stalled in ${state.phase.kind}`).toBe(true);
    }
    expect(state.probing).toBe(this.probeStartedAt !== null);
    expect(state.restart !== null).toBe(this.restarting);

    // §9.3: attempt ≤ N always; "attempt n/N" shows the current N.
    expect(state.attempt).toBeLessThanOrEqual(max);
    for (const e of effects) {
      if (e.type !== 'emit') continue;
      const ev = e.event;
      expect(ev.attempt).toBeLessThanOrEqual(max);
      expect(ev.maxAttempts).toBe(max);
      expect(ev.timestamp).toBe(new Date(now).toISOString());
      const m = /attempt (\d+)\/(\d+)/.exec(ev.message);
      if (m) {
        expect(Number(m[2])).toBe(max);
        expect(Number(m[1])).toBeLessThanOrEqual(max);
      }
      // §9.6: an episode starts with an event leaving healthy; never healthy → failed.
      if (ev.previous === 'healthy') {
        const allowed = ['unhealthy', 'starting', 'paused'];
        if (input.type === 'action' && input.action === 'restart') allowed.push('restarting');
        expect(allowed, `healthy → ${ev.status}`).toContain(ev.status);
      }
      // §9.11: failed means the attempts of the round are spent.
      // (Or sooner, for a cause restarting cannot fix, §12.)
      if (ev.status === 'failed' && !(ev.cause && (PERMANENT_CAUSES.has(ev.cause) || ev.cause === 'port_in_use'))) expect(ev.attempt).toBe(max);
      // No event lost or repeated: each one leaves the status the one before it set.
      expect(ev.previous, 'previous of an event').toBe(this.events.at(-1)?.status ?? 'unknown');
      if (ev.status === 'restart_failed') expect(ev.reason).toBeDefined();
      this.events.push(ev);
    }

    // §9.5: startupTimeout counts from the first loading of the episode, which never moves.
    const ep = state.episode;
    if (ep === null) {
      this.episodeStart = this.loadingSince = null;
    } else {
      if (this.episodeStart === ep.startedAt && this.loadingSince !== null) expect(ep.loadingSince, 'loadingSince moved within an episode').toBe(this.loadingSince);
      this.episodeStart = ep.startedAt;
      this.loadingSince = ep.loadingSince;
    }
    if (input.type === 'probed' && state.phase.kind === 'starting' && before.phase.kind !== 'starting') {
      expect(ep?.loadingSince).not.toBeNull();
      expect(now - ep!.loadingSince!).toBeLessThan(cfg.startupTimeout * 1000);
    }
    // §9.7: restarted and saying it loads → starting, not restarting.
    if (input.type === 'probed' && input.result.state === 'loading' && before.phase.kind === 'readiness' && probeStartedAt! >= before.phase.from && state.phase.kind === 'readiness') {
      expect(state.status).toBe('starting');
    }
    // Readiness that ran out asks once why, and waits for the answer with nothing else planned.
    const diagnoses = effects.filter((e) => e.type === 'diagnose');
    expect(diagnoses.length).toBeLessThanOrEqual(1);
    if (diagnoses.length) {
      expect(this.diagnosing, 'a second diagnose').toBe(false);
      this.diagnosing = true;
    }
    if (this.diagnosing && state.phase.kind !== 'readiness') this.diagnosing = false; // paused, stopped…
    // §12: every restart_failed and failed event says why; a cause restarting cannot fix ends the
    // round at once, and no new round starts by itself.
    for (const e of effects) {
      if (e.type === 'emit' && (e.event.status === 'restart_failed' || e.event.status === 'failed')) expect(e.event.cause, `${e.event.status} without a cause`).toBeDefined();
    }
    if (state.phase.kind === 'failed' && state.phase.permanent) expect(state.phase.retryAt).toBeNull();
    // A monitor-only service is never waiting to restart nor given up on.
    if (cfg.monitorOnly) expect(['backoff', 'failed']).not.toContain(state.phase.kind);
    // Word from a restart in flight only changes the message (and the gate's countdown) while
    // restarting: it starts nothing, and is said as an event only when asked to.
    if (input.type === 'progress') {
      expect(effects.filter((e) => e.type !== 'emit')).toEqual([]);
      if (before.phase.kind !== 'restarting') expect(state).toEqual(before);
      else {
        expect(state.status).toBe(before.status);
        expect(effects.length).toBe(input.announce ? 1 : 0);
      }
    }
    // §14: in a maintenance window nothing restarts it but a person.
    if (restarts.length && input.type !== 'adopt' && !(input.type === 'action' && input.action === 'restart')) expect(state.maintenanceUntil, 'automatic restart in a maintenance window').toBeNull();
    // §14: while a dependency is down, nothing restarts it but a person; its downs are the dependency's.
    if (restarts.length && input.type !== 'adopt' && !(input.type === 'action' && input.action === 'restart')) expect(state.waitingFor, 'automatic restart while its dependency is down').toBeNull();
    for (const e of effects) {
      if (e.type === 'emit' && e.event.cause === 'dependency_down') {
        expect(e.event.status).toBe('unhealthy');
        expect(state.waitingFor ?? before.waitingFor).not.toBeNull();
        expect(e.event.message).toContain(`waiting for ${state.waitingFor ?? before.waitingFor}`);
      }
    }
    if (input.type === 'dependency' && input.waitingFor === before.waitingFor) expect(effects).toEqual([]);
    // The gate's countdown shows only while the restart waits at the gate.
    if (state.phase.kind === 'restarting' && state.phase.waitUntil !== undefined) expect(this.restarting).toBe(true);
    for (const e of effects) if (e.type === 'emit' && e.event.waitUntil !== undefined) expect(e.event.status).toBe('restarting');
    // Stopped: nothing new starts.
    if (before.phase.kind === 'stopped') {
      expect(effects.filter((e) => e.type === 'probe' || e.type === 'restart' || e.type === 'emit')).toEqual([]);
    }
  }

  private restartingBefore(before: MachineState): boolean {
    return before.restart !== null;
  }
}

function play(cfg: MachineSettings, commands: Command[], adoptFirst = false): World {
  const w = new World(cfg);
  w.feed(adoptFirst ? { type: 'adopt', pgid: 4242, startedAt: 0 } : { type: 'start' });
  for (const cmd of commands) w.run(cmd);
  const effects = w.feed({ type: 'stop', abortRestart: true });
  expect(effects).toContainEqual({ type: 'abort', restart: true });
  expect(w.state.wakeAt).toBeNull();
  // Whatever was in flight comes back after the stop: nothing more happens.
  if (w.probeStartedAt !== null) w.run({ kind: 'probeDone', result: 'up' });
  if (w.restarting) w.run({ kind: 'restartDone', result: 'ok', cause: 'exit' });
  if (w.diagnosing) w.run({ kind: 'diagnosed', cause: 'exit' });
  w.run({ kind: 'wait', ms: 10 * 60_000 });
  return w;
}

describe('the recovery engine under random sequences (CONTRACT §9, fast-check)', () => {
  it(`keeps every invariant over ${RUNS} random sequences`, () => {
    fc.assert(
      fc.property(initialSettings, fc.array(command, { maxLength: 80 }), fc.boolean(), (cfg, commands, adoptFirst) => {
        play(cfg, commands, adoptFirst);
      }),
      { numRuns: RUNS },
    );
  });

  it('eventually restarts a service that stays down (no sequence of waits leaves it unrestarted)', () => {
    fc.assert(
      fc.property(initialSettings, fc.array(fc.integer({ min: 1, max: 60_000 }), { minLength: 1, maxLength: 40 }), (cfg, waits) => {
        const w = new World({ ...cfg, monitorOnly: false });
        w.feed({ type: 'start' });
        let restarts = 0;
        for (const ms of [...waits, 30 * 60_000]) {
          if (w.probeStartedAt !== null) w.run({ kind: 'probeDone', result: 'down' });
          if (w.restarting) {
            restarts++;
            w.run({ kind: 'restartDone', result: 'fail', cause: 'exit' });
          }
          w.run({ kind: 'wait', ms });
        }
        if (w.probeStartedAt !== null) w.run({ kind: 'probeDone', result: 'down' });
        restarts += w.restarting ? 1 : 0;
        expect(restarts).toBeGreaterThan(0);
      }),
      { numRuns: Math.max(100, RUNS / 10) },
    );
  });
});
