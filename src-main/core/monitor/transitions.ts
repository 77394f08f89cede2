import { CAUSE_TEXT, PERMANENT_CAUSES, type FailureCause } from '../../../src-shared/causes.js';
import type { ServiceAction, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';
import type { ProbeResult } from '../probes/probe.js';
import {
  CRASH_LOOP_CAP_MS,
  PROBE_GAP_MS,
  copyState,
  nextRetryAt,
  waitUntil,
  type ActionResult,
  type Diagnosis,
  type Effect,
  type Failure,
  type Episode,
  type Input,
  type MachineSettings,
  type MachineState,
  type Phase,
  type Step,
} from './machine.js';

/**
 * The recovery engine (CONTRACT §3, §9) as a pure function: the state after `input` at `now`
 * under `settings`, and the effects to carry out. Never reads a clock, never does I/O, never
 * mutates `state`. The README's transition table is this function, case by case.
 */
export function transition(state: MachineState, input: Input, now: number, settings: MachineSettings): Step {
  return step({ s: copyState(state), fx: [], now, cfg: settings }, input);
}

/**
 * transition() for a caller that owns `state` and drops it for the one returned (the runner):
 * the same step, made on `state` itself. Copying its 24 fields, their timestamps boxed anew, was
 * an eighth of what a check allocated (issue 16); the property test checks both give the same.
 */
export function transitionInPlace(state: MachineState, input: Input, now: number, settings: MachineSettings): Step {
  return step({ s: state, fx: [], now, cfg: settings }, input);
}

function step(c: Ctx, input: Input): Step {
  if (input.type === 'tick') c.s.wakeAt = null; // the timer fired: none is pending any more
  if (c.s.phase.kind === 'stopped') {
    afterStop(c, input);
  } else {
    apply(c, input);
  }
  settle(c);
  return { state: c.s, effects: c.fx };
}

interface Ctx {
  s: MachineState;
  fx: Effect[];
  now: number;
  cfg: MachineSettings;
}

const ms = (seconds: number) => seconds * 1000;

function apply(c: Ctx, input: Input): void {
  const { s } = c;
  switch (input.type) {
    case 'start':
      if (s.phase.kind === 'idle') {
        s.phase = { kind: 'watching' };
        s.nextProbeAt = c.now;
      }
      return;
    case 'adopt':
      if (s.phase.kind === 'idle') adopt(c, input.pgid, input.startedAt);
      return;
    case 'tick':
      return; // settle() does whatever is due now
    case 'signal':
      // A signal asks for a look now. A restart in flight or readiness polling already look.
      if (hasCadence(s.phase.kind) || s.phase.kind === 'backoff') {
        s.nextProbeAt = Math.min(s.nextProbeAt ?? c.now, c.now);
        s.signalled = true;
      }
      return;
    case 'probed':
      return onProbed(c, input.result);
    case 'restarted':
      if (s.phase.kind === 'restarting') s.phase = { kind: 'restarting' }; // the gate's wait, if any, is over
      if (input.notRun) return onNotRun(c);
      return onRestarted(c, input.result, input.diagnosis);
    case 'progress':
      if (s.phase.kind !== 'restarting') return;
      if (input.waitUntil !== undefined) s.phase = input.waitUntil === null ? { kind: 'restarting' } : { kind: 'restarting', waitUntil: input.waitUntil };
      if (input.announce) setStatus(c, 'restarting', input.message, { force: true });
      else setMessage(c, input.message);
      return;
    case 'diagnosed':
      if (s.phase.kind === 'readiness' && s.phase.diagnosing) attemptFailed(c, notReadyReason(c, s.phase.last), s.phase.output, input.diagnosis);
      return;
    case 'dependency':
      return onDependency(c, input.waitingFor);
    case 'maintenance':
      return onMaintenance(c, input.until, input.reason);
    case 'action':
      return reply(c, onAction(c, input.action));
    case 'settings':
      return onSettings(c, input.previous);
    case 'stop':
      setPhase(c, { kind: 'stopped' });
      c.fx.push({ type: 'abort', restart: input.abortRestart });
      return;
  }
}

/** Stopped: late results are only booked; a second stop may still abort a finishing restart. */
function afterStop(c: Ctx, input: Input): void {
  const { s } = c;
  switch (input.type) {
    case 'probed':
      s.probing = false;
      return;
    case 'restarted':
      s.restart = null;
      if (input.notRun) return;
      s.restarts += 1;
      if (!input.result.ok) s.lastFailure = failureOf(c, input.result.reason, input.result.output, input.diagnosis);
      return;
    case 'action':
      return reply(c, { ok: false, error: 'stopped', message: `${c.cfg.name} is no longer monitored` });
    case 'stop':
      if (input.abortRestart) c.fx.push({ type: 'abort', restart: true });
      return;
    default:
      return;
  }
}

// ---- probes ------------------------------------------------------------------------------------

function onProbed(c: Ctx, r: ProbeResult): void {
  const { s } = c;
  const startedAt = s.lastProbeAt ?? c.now;
  s.probing = false;
  s.lastCheckAt = c.now;
  s.latencyMs = r.latencyMs;
  switch (s.phase.kind) {
    case 'restarting':
      return; // a look from before the restart says nothing about the new instance
    case 'readiness':
      if (startedAt < s.phase.from) return; // it saw the instance from before the restart
      return onReadinessProbe(c, r);
    default:
      return onSteadyProbe(c, r, startedAt);
  }
}

/** watching, starting, backoff, failed, paused: what one probe result means. */
function onSteadyProbe(c: Ctx, r: ProbeResult, startedAt: number): void {
  const { s, cfg } = c;
  const phase = s.phase;
  if (phase.kind === 'paused' && phase.by === 'user') {
    setMessage(c, `Paused: checked but never restarted (last check: ${r.state}, ${r.reason})`);
    return;
  }
  if (phase.kind === 'paused' && phase.by === 'maintenance') {
    setMessage(c, `${maintenanceText(c)} (last check: ${r.state}, ${r.reason})`);
    return;
  }
  if (r.state === 'up') {
    if (s.status === 'healthy') {
      // The budget and the crash-loop backoff come back only after a stretch of health (§9.11).
      if (s.healthySince !== null && c.now - s.healthySince >= ms(cfg.resetAfter)) {
        s.attempt = 0;
        s.lastWaitMs = null;
      }
      return;
    }
    return becomeHealthy(c, upMessage(s.status, phase.kind, r.reason));
  }
  if (r.stoppedOnPurpose && !cfg.restartWhenStopped) return pauseForStop(c, r);
  let down = r;
  if (r.state === 'loading') {
    const episode = ensureEpisode(c);
    const since = episode.loadingSince ?? c.now;
    if (episode.loadingSince === null) s.episode = { ...episode, loadingSince: since };
    if (c.now - since < ms(cfg.startupTimeout)) return beginStarting(c, r);
    down = { ...r, state: 'down', reason: `still loading after ${cfg.startupTimeout} s (${r.reason})` };
  }
  onDown(c, down, startedAt);
}

function onDown(c: Ctx, r: ProbeResult, startedAt: number): void {
  const { s, cfg } = c;
  const phase = s.phase;
  if (phase.kind === 'backoff') {
    // The fresh look before the restart (§3 step 2): only a probe that began late enough counts.
    if (startedAt >= phase.verifyAt) s.phase = { ...phase, verified: true };
    return;
  }
  if (phase.kind === 'failed') return; // still down: the round (or a person) decides
  ensureEpisode(c);
  const cause = r.cause ? { cause: r.cause } : {};
  if (cfg.monitorOnly) {
    setPhase(c, { kind: 'watching' });
    setStatus(c, 'unhealthy', `Health check failed: ${r.reason} (monitor only: not restarted)`, cause);
    return;
  }
  // In a maintenance window (after a person's manual restart in it): paused again, not restarted (§14).
  if (s.maintenanceUntil !== null) return backToMaintenance(c);
  // Its dependency is down: that is the cause, not this service (§14).
  if (s.waitingFor !== null) return waitForDependency(c, `Health check failed: ${r.reason}`);
  // Back from loading with the round already spent (it was failed, then loaded for a while).
  if (s.attempt >= cfg.serviceMaxRetries) return giveUp(c);
  // Already unhealthy (monitor only until now): the event still tells that a restart is due.
  const wasUnhealthy = s.status === 'unhealthy';
  enterBackoff(c);
  setStatus(c, 'unhealthy', `Health check failed: ${r.reason}`, { force: wasUnhealthy, ...cause });
}

function onReadinessProbe(c: Ctx, r: ProbeResult): void {
  const { s, cfg } = c;
  const phase = s.phase as Extract<Phase, { kind: 'readiness' }>;
  if (r.state === 'up') return becomeHealthy(c, 'Service restarted successfully');
  if (r.stoppedOnPurpose && !cfg.restartWhenStopped) return pauseForStop(c, r);
  s.phase = { ...phase, last: r.reason, loading: r.state === 'loading' };
  if (r.state === 'loading') {
    const episode = ensureEpisode(c);
    if (episode.loadingSince === null) s.episode = { ...episode, loadingSince: c.now };
    // §9.7: a restarted service that says it is loading is starting, not restarting.
    setStatus(c, 'starting', `Loading after restart (${r.reason}); waiting up to ${cfg.startupTimeout} s`);
  }
  // The deadline is judged in settle(), also when no answer comes in time.
}

// ---- restarts ----------------------------------------------------------------------------------

function startRestart(c: Ctx, manual: boolean): void {
  const { s, cfg } = c;
  ensureEpisode(c);
  if (manual) s.attempt = 0; // a manual restart starts a fresh budget
  const n = s.attempt + 1;
  s.attempt = n;
  s.restart = { attempt: n, manual };
  setPhase(c, { kind: 'restarting' });
  setStatus(c, 'restarting', `Attempting restart (attempt ${n}/${cfg.serviceMaxRetries})`, { force: true });
  c.fx.push({ type: 'restart', attempt: n, manual });
}

/** A restart left running by a previous Warden is this service's attempt 1: followed, never run twice. */
function adopt(c: Ctx, pgid: number, startedAt: number): void {
  const { s, cfg } = c;
  ensureEpisode(c);
  s.attempt = 1;
  s.restart = { attempt: 1, manual: false };
  setPhase(c, { kind: 'restarting' });
  const message = `Adopted a restart still running from a previous Warden (process group ${pgid}, started ${new Date(startedAt).toISOString()}); waiting for it (attempt 1/${cfg.serviceMaxRetries})`;
  setStatus(c, 'restarting', message, { force: true });
  c.fx.push({ type: 'restart', attempt: 1, manual: false, adopted: true });
}

function onRestarted(c: Ctx, result: { ok: true; output: string } | { ok: false; reason: string; output: string }, diagnosis: Diagnosis | undefined): void {
  const { s, cfg } = c;
  s.restart = null;
  s.restarts += 1;
  if (s.phase.kind !== 'restarting') {
    // Paused meanwhile: the outcome is kept, nothing more is done (§9.4).
    if (!result.ok) s.lastFailure = failureOf(c, result.reason, result.output, diagnosis);
    return;
  }
  if (!result.ok) return attemptFailed(c, result.reason, result.output, diagnosis);
  s.gapUntil = null; // a new instance: look at it at once
  setPhase(c, { kind: 'readiness', from: c.now, deadline: c.now + ms(cfg.startupTimeout), last: 'no answer yet', loading: false, output: result.output, diagnosing: false });
  setMessage(c, `Restarted; waiting up to ${cfg.startupTimeout} s for it to answer`);
}

/** The restart never ran: the attempt is given back, and (still restarting) the service is looked at now. */
function onNotRun(c: Ctx): void {
  const { s } = c;
  s.restart = null;
  if (s.attempt > 0) s.attempt -= 1;
  if (s.phase.kind !== 'restarting') return; // paused, stopped: that phase decides
  setPhase(c, { kind: 'watching' });
  s.nextProbeAt = c.now;
}

/** The failure as it is kept and sent: the reason with the line that shows the cause quoted (§12). */
function failureOf(c: Ctx, reason: string, output: string, diagnosis: Diagnosis | undefined): Failure {
  const cause = diagnosis?.cause ?? 'exit';
  const line = diagnosis?.line;
  return { reason: line && !reason.includes(line) ? `${reason}: "${line}"` : reason, output, at: c.now, cause };
}

function notReadyReason(c: Ctx, last: string): string {
  return `not healthy within ${c.cfg.startupTimeout} s of restart (${last})`;
}

/**
 * Step 4/6 of §3 with the policy of §12: this attempt failed; back off for the next one, or give
 * up — at once when the cause is one restarting cannot fix (a missing model, a misconfiguration, a
 * lost or zombie-held GPU, the port taken twice in a row).
 */
function attemptFailed(c: Ctx, reason: string, output: string, diagnosis: Diagnosis | undefined): void {
  const { s, cfg } = c;
  const failure = failureOf(c, reason, output, diagnosis);
  s.lastFailure = failure;
  const episode = ensureEpisode(c);
  const permanent = PERMANENT_CAUSES.has(failure.cause) || (failure.cause === 'port_in_use' && episode.lastCause === 'port_in_use');
  s.episode = { ...episode, lastCause: failure.cause };
  const n = s.attempt;
  const max = cfg.serviceMaxRetries;
  // n is 0 when the counter was reset while this restart ran: it does not count.
  const label = n > 0 ? `Restart attempt ${n}/${max} failed: ${failure.reason}` : `Restart failed: ${failure.reason}`;
  const sent = { reason: failure.reason, output, cause: failure.cause };
  if (cfg.monitorOnly) {
    setPhase(c, { kind: 'watching' });
    setStatus(c, 'restart_failed', `${label} (monitor only now: not restarted again)`, { force: true, failure: sent });
    return;
  }
  if (s.waitingFor !== null) {
    // Its dependency went down while it restarted: no next attempt until that one is back, and not
    // given up on either: the failure was most likely the dependency's (§14).
    setPhase(c, { kind: 'watching' });
    setStatus(c, 'restart_failed', label, { force: true, failure: sent });
    return waitForDependency(c, label);
  }
  if (s.maintenanceUntil !== null) {
    // A manual restart in a maintenance window failed: no next attempt in it (§14).
    setStatus(c, 'restart_failed', label, { force: true, failure: sent });
    return backToMaintenance(c);
  }
  if (permanent || n >= max) {
    // The restart_failed event goes out first, with no next retry, then failed (§3 step 6).
    setStatus(c, 'restart_failed', label, { force: true, failure: sent });
    return giveUp(c, failure.cause, permanent);
  }
  enterBackoff(c);
  setStatus(c, 'restart_failed', label, { force: true, failure: sent });
}

/** The round is over. Without a failure of its own (its attempts ran out while it loaded), it never came up: not_ready. */
function giveUp(c: Ctx, cause: FailureCause = c.s.lastFailure?.cause ?? 'not_ready', permanent = false): void {
  const retry = c.cfg.failedRetryInterval;
  setPhase(c, { kind: 'failed', at: c.now, retryAt: retry > 0 && !permanent ? c.now + ms(retry) : null, cause, permanent });
  const message = permanent ? `Not retried: ${lowerFirst(CAUSE_TEXT[cause].title)} (restarting cannot fix it)` : 'Max retries exceeded';
  setStatus(c, 'failed', message, { cause });
}

/** Wait before attempt `attempt + 1`, with the fresh look timed to end when the wait does. */
function enterBackoff(c: Ctx): void {
  const { s, cfg } = c;
  const episode = ensureEpisode(c);
  const wait = episode.firstWaitMs * 2 ** s.attempt;
  const until = c.now + wait;
  // Start the fresh look as long before `until` as the last probe took, so a hung service does
  // not cost a second full timeout after the wait; never sooner than the probe gap allows.
  const lead = Math.min(ms(cfg.serviceHealthTimeout), s.latencyMs ?? 0);
  const verifyAt = Math.max(until - lead, s.gapUntil ?? -Infinity);
  // When the gap rule puts the next look past the end of the wait, the last one (come back down)
  // is fresh enough; one still in flight is not: its answer is not known yet.
  s.lastWaitMs = wait;
  setPhase(c, { kind: 'backoff', until, verifyAt, verified: !s.probing && verifyAt > until });
}

// ---- maintenance windows (§14) -----------------------------------------------------------------

/**
 * A window begins (or moves its end) or is over. In one: paused — probed, never restarted, no
 * alerts (a restart already running finishes, as with Pause). A person's own Pause is kept. At
 * its end: a fresh budget, as after Resume, and a look at once.
 */
function onMaintenance(c: Ctx, until: number | null, reason: string | null): void {
  const { s } = c;
  const was = s.maintenanceUntil;
  s.maintenanceUntil = until;
  s.maintenanceReason = reason;
  const phase = s.phase;
  if (until !== null) {
    if (phase.kind === 'paused' && phase.by === 'user') return;
    if (phase.kind === 'paused' && phase.by === 'maintenance') {
      // Extended (back-to-back occurrences, a longer ad-hoc window): the message, no new event.
      if (was !== until) setMessage(c, maintenanceText(c));
      return;
    }
    setPhase(c, { kind: 'paused', by: 'maintenance' });
    setStatus(c, 'paused', maintenanceText(c));
    return;
  }
  if (!(phase.kind === 'paused' && phase.by === 'maintenance')) return;
  if (!unpause(c, 'the maintenance window')) setMessage(c, 'Maintenance window over: checking now');
}

/**
 * Out of a pause (Resume, the end of a window) with a fresh budget (§9.8): a restart still running
 * from before it is followed again (true), else it is looked at now (false).
 */
function unpause(c: Ctx, what: string): boolean {
  const { s } = c;
  s.attempt = 0;
  s.lastWaitMs = null;
  s.episode = null;
  if (s.restart) {
    setPhase(c, { kind: 'restarting' });
    setStatus(c, 'restarting', `Restart in progress (started before ${what})`);
    return true;
  }
  setPhase(c, { kind: 'watching' });
  s.nextProbeAt = c.now;
  return false;
}

function backToMaintenance(c: Ctx): void {
  setPhase(c, { kind: 'paused', by: 'maintenance' });
  setStatus(c, 'paused', maintenanceText(c));
}

function maintenanceText(c: Ctx): string {
  const until = c.s.maintenanceUntil;
  const at = until === null ? '?' : `${new Date(until).toISOString().slice(11, 16)} UTC`;
  return `In maintenance until ${at}${c.s.maintenanceReason ? ` (${c.s.maintenanceReason})` : ''}: probed, never restarted`;
}

// ---- dependencies (§14) ------------------------------------------------------------------------

/**
 * A dependency went down (or came back). While it is down, a wait for this service's next
 * attempt or round is dropped: its failures are the dependency's, and restarting it cannot help.
 * When every dependency is healthy again, it is looked at at once.
 */
function onDependency(c: Ctx, waitingFor: string | null): void {
  const { s, cfg } = c;
  if (s.waitingFor === waitingFor) return;
  const was = s.waitingFor;
  s.waitingFor = waitingFor;
  const phase = s.phase;
  if (waitingFor !== null) {
    const idle = phase.kind === 'backoff' || (phase.kind === 'failed' && !phase.permanent) || (phase.kind === 'watching' && s.status === 'unhealthy' && !cfg.monitorOnly);
    if (idle) waitForDependency(c, was === null ? `Not restarted: ${waitingFor} is down` : 'Still down', true);
    return;
  }
  // Back: its failures were the dependency's, so it starts again from attempt 1 (a fresh budget);
  // a service that was down is looked at at once (a healthy one keeps its cadence; a probe in
  // flight answers soon enough).
  if (phase.kind === 'watching' && s.status !== 'healthy') {
    s.attempt = 0;
    s.lastWaitMs = null;
    s.episode = null;
  }
  if (hasCadence(phase.kind) && s.status !== 'healthy' && !s.probing) {
    s.nextProbeAt = Math.min(s.nextProbeAt ?? c.now, c.now);
    s.signalled = true;
  }
}

/** Unhealthy because a dependency is down: watched, never restarted, no attempt used. */
function waitForDependency(c: Ctx, what: string, force = false): void {
  const dep = c.s.waitingFor!;
  setPhase(c, { kind: 'watching' });
  setStatus(c, 'unhealthy', `${what}; waiting for ${dep} (not restarted while it is down)`, { cause: 'dependency_down', force });
}

// ---- status changes ----------------------------------------------------------------------------

function becomeHealthy(c: Ctx, message: string): void {
  c.s.episode = null; // lastWaitMs stays: it is the crash-loop carry until resetAfter
  setPhase(c, { kind: 'watching' });
  setStatus(c, 'healthy', message);
}

function beginStarting(c: Ctx, r: ProbeResult): void {
  setPhase(c, { kind: 'starting' });
  setStatus(c, 'starting', `Service is starting (${r.reason}); not restarted for up to ${c.cfg.startupTimeout} s`);
}

function pauseForStop(c: Ctx, r: ProbeResult): void {
  c.s.episode = null;
  setPhase(c, { kind: 'paused', by: 'stop' });
  setStatus(c, 'paused', `Stopped on purpose: ${r.reason}; not restarted (set restartWhenStopped to change)`);
}

/** The episode in progress, or a new one (§9.11: its first wait doubles the last one, capped). */
function ensureEpisode(c: Ctx): Episode {
  const { s, cfg } = c;
  if (s.episode) return s.episode;
  const base = ms(cfg.serviceBackoffBase);
  const firstWaitMs = s.lastWaitMs === null ? base : Math.max(base, Math.min(CRASH_LOOP_CAP_MS, s.lastWaitMs * 2));
  s.attempt = 0;
  s.episode = { startedAt: c.now, loadingSince: null, firstWaitMs, lastCause: null };
  return s.episode;
}

function upMessage(prev: ServiceStatusValue, phase: Phase['kind'], reason: string): string {
  if (phase === 'backoff') return 'Service recovered without restart';
  switch (prev) {
    case 'starting':
      return 'Service finished starting';
    case 'failed':
      return 'Service recovered';
    case 'unhealthy':
      return 'Service recovered without restart';
    default:
      return `Service responding normally (${reason})`;
  }
}

// ---- manual actions and settings ---------------------------------------------------------------

function onAction(c: Ctx, action: ServiceAction): ActionResult {
  const { s, cfg } = c;
  switch (action) {
    case 'restart':
      if (cfg.monitorOnly) return { ok: false, error: 'monitor_only', message: `${cfg.name} is monitor only (restartCmd is null)` };
      if (s.restart) return { ok: false, error: 'busy', message: `a restart of ${cfg.name} is already in progress` };
      startRestart(c, true);
      return { ok: true, message: 'restart requested' };
    case 'pause':
      if (!(s.phase.kind === 'paused' && s.phase.by === 'user')) {
        setPhase(c, { kind: 'paused', by: 'user' });
        setStatus(c, 'paused', 'Paused: checked but never restarted');
      }
      return { ok: true, message: 'paused' };
    case 'resume':
      // A window still covers it: paused it stays, by the window (ended by the window, or DELETE /api/maintenance).
      if (s.maintenanceUntil !== null) {
        if (!(s.phase.kind === 'paused' && s.phase.by === 'maintenance')) {
          setPhase(c, { kind: 'paused', by: 'maintenance' });
          setStatus(c, 'paused', maintenanceText(c), { force: true });
        }
        return { ok: true, message: `resumed, but a maintenance window covers it until ${new Date(s.maintenanceUntil).toISOString()}` };
      }
      if (s.phase.kind === 'paused') unpause(c, 'the pause');
      return { ok: true, message: 'resumed' };
    case 'reset':
      s.attempt = 0;
      s.lastWaitMs = null;
      if (s.episode) s.episode = { ...s.episode, firstWaitMs: ms(cfg.serviceBackoffBase) };
      // A wait already running (a long crash-loop one) starts again from the base, from now.
      if (s.phase.kind === 'backoff') enterBackoff(c);
      if (s.phase.kind === 'failed') {
        // Re-enter the flow at once: the next look decides (down → attempt 1/N after its wait).
        setPhase(c, { kind: 'watching' });
        s.nextProbeAt = c.now;
      }
      return { ok: true, message: 'reset' };
  }
}

function reply(c: Ctx, result: ActionResult): void {
  c.fx.push({ type: 'reply', result });
}

/** New settings (§9.4): a spent or monitor-only round stops at once; cadences follow the new interval. */
function onSettings(c: Ctx, previous: MachineSettings): void {
  const { s, cfg } = c;
  const max = cfg.serviceMaxRetries;
  if (s.attempt > max) s.attempt = max; // "attempt n/N" never shows n > N (§9.3)
  // Restarts enabled again (a new command): its first failure gets a fresh budget, not `failed` at once.
  if (previous.monitorOnly && !cfg.monitorOnly && !s.restart) s.attempt = 0;
  const phase = s.phase;
  if (cfg.monitorOnly && (phase.kind === 'backoff' || phase.kind === 'failed')) {
    setPhase(c, { kind: 'watching' });
    setStatus(c, 'unhealthy', 'Monitor only now: not restarted');
  } else if (phase.kind === 'backoff' && s.attempt >= max) {
    giveUp(c);
  } else if (phase.kind === 'failed' && phase.permanent && previous.fingerprint !== cfg.fingerprint) {
    // Given up on for a cause restarting cannot fix; the config changed: it may be fixed now.
    s.attempt = 0;
    setPhase(c, { kind: 'watching' });
    s.nextProbeAt = c.now;
  } else if (phase.kind === 'failed' && !phase.permanent) {
    const retry = cfg.failedRetryInterval;
    s.phase = { ...phase, retryAt: retry > 0 ? phase.at + ms(retry) : null };
  }
  // The cadence follows the new interval; a look already due now (a signal) stays due.
  if (hasCadence(s.phase.kind) && !s.probing && s.lastProbeAt !== null && !(s.nextProbeAt !== null && s.nextProbeAt <= c.now)) {
    s.nextProbeAt = s.lastProbeAt + ms(cfg.healthCheckInterval);
  }
  // Messages that name N follow the current one.
  if (s.status === 'restarting' && /^Attempting restart \(attempt \d+\/\d+\)$/.test(s.message)) s.message = `Attempting restart (attempt ${s.attempt}/${max})`;
}

// ---- bookkeeping -------------------------------------------------------------------------------

/** Phases probed on the service's interval. */
function hasCadence(kind: Phase['kind']): boolean {
  return kind === 'watching' || kind === 'starting' || kind === 'failed' || kind === 'paused';
}

/** Enter a phase and plan its next probe. */
function setPhase(c: Ctx, next: Phase): void {
  const { s } = c;
  const hadCadence = hasCadence(s.phase.kind);
  s.phase = next;
  s.signalled = false; // a signal asks for a look in the phase it came in
  switch (next.kind) {
    case 'watching':
    case 'starting':
    case 'failed':
    case 'paused':
      if (!hadCadence || s.nextProbeAt === null) s.nextProbeAt = (s.lastProbeAt ?? c.now) + ms(c.cfg.healthCheckInterval);
      return;
    case 'backoff':
      s.nextProbeAt = next.verified ? null : next.verifyAt;
      return;
    case 'readiness':
      s.nextProbeAt = c.now;
      return;
    default:
      s.nextProbeAt = null;
  }
}

/** When a probe that starts now should be followed by the next one, in this phase. */
function cadenceAfter(c: Ctx): number | null {
  const { s, now, cfg } = c;
  const phase = s.phase;
  if (hasCadence(phase.kind)) return now + ms(cfg.healthCheckInterval);
  if (phase.kind === 'readiness') return now + PROBE_GAP_MS;
  if (phase.kind === 'backoff' && now < phase.verifyAt) return phase.verifyAt;
  return null;
}

function setMessage(c: Ctx, message: string): void {
  c.s.message = message;
  c.s.updatedAt = c.now;
}

/** Set status and message; an event only when the status changes, or `force` (a new attempt). */
function setStatus(
  c: Ctx,
  status: ServiceStatusValue,
  message: string,
  opts: { force?: boolean; failure?: { reason: string; output: string; cause: FailureCause }; cause?: FailureCause } = {},
): void {
  const { s } = c;
  const previous = s.status;
  setMessage(c, message);
  if (status !== previous) {
    s.status = status;
    s.since = c.now;
    s.healthySince = status === 'healthy' ? c.now : null;
  } else if (!opts.force) {
    return; // no event for a probe that changes nothing (§4)
  }
  const event: ServiceStatusEvent = {
    type: 'service_status',
    service: c.cfg.name,
    status,
    message,
    timestamp: new Date(c.now).toISOString(),
    attempt: s.attempt,
    maxAttempts: c.cfg.serviceMaxRetries,
    nextRetryAt: isoOrNull(nextRetryAt(s)),
    latencyMs: s.latencyMs,
    previous,
    ...(opts.failure ? { reason: opts.failure.reason, output: opts.failure.output, cause: opts.failure.cause } : {}),
    ...(opts.cause ? { cause: opts.cause } : {}),
    ...(opts.cause === 'dependency_down' && s.waitingFor !== null ? { waitingFor: s.waitingFor } : {}),
    ...waitField(s),
  };
  c.fx.push({ type: 'emit', event });
}

/** Start what is due now (restart, new round, readiness verdict, probe) and set the one timer. */
function settle(c: Ctx): void {
  const { s } = c;
  // Each step changes the phase, so this ends; the bound is a guard, not a limit that is reached.
  for (let i = 0; i < 8 && dueStep(c); i++);
  const at = s.phase.kind === 'stopped' ? null : probeTime(s);
  if (at !== null && c.now >= at) {
    // A signal's look that comes sooner than the gap keeps signals themselves apart.
    if (c.now < (s.gapUntil ?? -Infinity)) s.signalGapUntil = c.now + PROBE_GAP_MS;
    s.probing = true;
    s.signalled = false;
    s.lastProbeAt = c.now;
    s.gapUntil = c.now + PROBE_GAP_MS;
    s.nextProbeAt = cadenceAfter(c);
    c.fx.push({ type: 'probe' });
  }
  const wake = wakeTime(s);
  if (wake !== s.wakeAt) {
    s.wakeAt = wake;
    c.fx.push({ type: 'schedule', at: wake });
  }
}

/** One piece of due work; true if something was done. */
function dueStep(c: Ctx): boolean {
  const { s, now, cfg } = c;
  const phase = s.phase;
  if (phase.kind === 'backoff' && phase.verified && now >= phase.until && !s.restart) {
    startRestart(c, false);
    return true;
  }
  if (phase.kind === 'failed' && phase.retryAt !== null && now >= phase.retryAt) {
    if (s.waitingFor !== null) {
      waitForDependency(c, 'Still down');
      return true;
    }
    s.attempt = 0;
    enterBackoff(c);
    setStatus(c, 'unhealthy', `Still down: starting a new round of ${cfg.serviceMaxRetries} attempts`);
    return true;
  }
  if (phase.kind === 'readiness' && !phase.diagnosing && !s.probing && now >= phase.deadline) {
    // Still loading, and within startupTimeout of when loading was first seen (§9.5): it is
    // starting, not a failed restart; from here it is judged like any loading service.
    const since = s.episode?.loadingSince ?? null;
    if (phase.loading && since !== null && now - since < ms(cfg.startupTimeout)) {
      setPhase(c, { kind: 'starting' });
      return true;
    }
    // Not ready in time: why, the service's log may tell (CUDA out of memory after the start…).
    s.phase = { ...phase, diagnosing: true };
    s.nextProbeAt = null;
    c.fx.push({ type: 'diagnose', reason: notReadyReason(c, phase.last), output: phase.output });
    return true;
  }
  return false;
}

/** When the next probe may start: when it is due and the gap allows (a signal's gap, if one asked). */
function probeTime(s: MachineState): number | null {
  if (s.probing || s.nextProbeAt === null) return null;
  let gap = s.gapUntil ?? -Infinity;
  if (s.signalled) gap = Math.min(gap, s.signalGapUntil ?? -Infinity);
  return Math.max(s.nextProbeAt, gap);
}

function wakeTime(s: MachineState): number | null {
  const phase = s.phase;
  if (phase.kind === 'stopped') return null;
  let wake = probeTime(s) ?? Infinity;
  if (phase.kind === 'backoff' && phase.verified && !s.restart) wake = Math.min(wake, phase.until);
  if (phase.kind === 'failed' && phase.retryAt !== null) wake = Math.min(wake, phase.retryAt);
  if (phase.kind === 'readiness' && !s.probing && !phase.diagnosing) wake = Math.min(wake, phase.deadline);
  return wake === Infinity ? null : wake;
}

function isoOrNull(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}

/** `waitUntil` on an event or the API, only while a restart waits at the release gate. */
export function waitField(s: MachineState): { waitUntil?: string } {
  const at = waitUntil(s);
  return at === null ? {} : { waitUntil: new Date(at).toISOString() };
}

/** "The model file…" → "the model file…", but "GPU memory…" stays (an acronym keeps its case). */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}
