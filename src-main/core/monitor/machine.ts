import type { FailureCause } from '../../../src-shared/causes.js';
import type { ResolvedService } from '../../../src-shared/config-schema.js';
import type { ServiceAction, ServiceStatusEvent } from '../../../src-shared/protocol.js';
import type { ServiceStatusValue } from '../../../src-shared/status.js';
import type { RestartResult } from '../managers/service-manager.js';
import type { ProbeResult } from '../probes/probe.js';

/**
 * The recovery engine's vocabulary (CONTRACT §3, §9): one service's state, the inputs it reacts
 * to and the effects it asks for. `transitions.ts` maps (state, input, now, settings) to a new
 * state and effects, purely; `runner.ts` carries the effects out. The README's transition table is
 * written from these types.
 */

/**
 * Probes of one service start at least this far apart, in every phase (§9.2). Two outside events
 * may look sooner: a signal (a crash seen by the watch connection; signals themselves no closer
 * than this), and the first look at a service a restart has just started.
 */
export const PROBE_GAP_MS = 250;
/** Crash-loop backoff never waits longer than this before attempt 1 of an episode (§9.11). */
export const CRASH_LOOP_CAP_MS = 300_000;

/** What the state machine reads from a service's settings (seconds, like the config). */
export interface MachineSettings {
  name: string;
  healthCheckInterval: number;
  serviceHealthTimeout: number;
  serviceMaxRetries: number;
  serviceBackoffBase: number;
  startupTimeout: number;
  resetAfter: number;
  failedRetryInterval: number;
  /** `restartCmd: null`: probed, never restarted. */
  monitorOnly: boolean;
  /** A deliberate stop is restarted like a crash (default: respected, §9.6). */
  restartWhenStopped: boolean;
  /** Changes whenever anything in the service's config does: a permanent failure is retried then (§12). */
  fingerprint: string;
}

export function machineSettings(svc: ResolvedService): MachineSettings {
  return {
    name: svc.name,
    healthCheckInterval: svc.healthCheckInterval,
    serviceHealthTimeout: svc.serviceHealthTimeout,
    serviceMaxRetries: svc.serviceMaxRetries,
    serviceBackoffBase: svc.serviceBackoffBase,
    startupTimeout: svc.startupTimeout,
    resetAfter: svc.resetAfter,
    failedRetryInterval: svc.failedRetryInterval,
    monitorOnly: svc.restartCmd === null,
    restartWhenStopped: svc.restartWhenStopped,
    fingerprint: JSON.stringify(svc),
  };
}

/** What the service's loop is doing: one case per phase, each with only the data it needs. */
export type Phase =
  /** Created, not started. */
  | { kind: 'idle' }
  /** No recovery running: probed every interval (unknown, healthy, or unhealthy when monitor only). */
  | { kind: 'watching' }
  /** It says it is loading, outside a restart, within startupTimeout: probed, never restarted. */
  | { kind: 'starting' }
  /**
   * Waiting before attempt `attempt + 1`. A fresh probe that starts at or after `verifyAt` must
   * come back down (`verified`) before the restart runs at `until`.
   */
  | { kind: 'backoff'; until: number; verifyAt: number; verified: boolean }
  /** The strategy's restart is running; `waitUntil`: while it waits at the GPU release gate, when that wait gives up. */
  | { kind: 'restarting'; waitUntil?: number }
  /**
   * Restarted at `from`: polled every PROBE_GAP_MS until up, or `deadline` (from + startupTimeout).
   * A probe that began before `from` saw the old instance and is ignored. `last` is the latest
   * answer and `output` the restart's, for the failure if it never comes up.
   */
  | { kind: 'readiness'; from: number; deadline: number; last: string; loading: boolean; output: string; diagnosing: boolean }
  /**
   * The round ended: every attempt failed, or one failed for a cause restarting cannot fix
   * (`permanent`: no new round until a person acts or the config changes). Probed every interval.
   */
  | { kind: 'failed'; at: number; retryAt: number | null; cause: FailureCause; permanent: boolean }
  /** Probed, never restarted: by the user, because it was stopped on purpose (docker stop), or in a maintenance window. */
  | { kind: 'paused'; by: 'user' | 'stop' | 'maintenance' }
  /** Stopped or removed: nothing more is started. */
  | { kind: 'stopped' };

export type PhaseKind = Phase['kind'];

/** One stretch of trouble: from leaving healthy until healthy again. */
export interface Episode {
  startedAt: number;
  /** When loading was first seen in this episode (startupTimeout counts from here, §9.5). */
  loadingSince: number | null;
  /** The wait before attempt 1; attempt n waits firstWaitMs × 2^(n-1) (§3, §9.11). */
  firstWaitMs: number;
  /** Why the last attempt of this episode failed (port_in_use twice in a row is permanent). */
  lastCause: FailureCause | null;
}

/** A failed restart, kept for the API and the dashboard (never lost, §3 step 4). */
export interface Failure {
  reason: string;
  output: string;
  at: number;
  cause: FailureCause;
}

/** A failure's cause and the line that shows it (classified by the runner, CONTRACT §12). */
export interface Diagnosis {
  cause: FailureCause;
  line: string | null;
}

/** One service's whole state. Times are milliseconds on the injected clock. */
export interface MachineState {
  phase: Phase;
  status: ServiceStatusValue;
  message: string;
  /** When `status` last changed. */
  since: number;
  /** When `status` or `message` was last set. */
  updatedAt: number;
  /** Attempts used in the current round (≤ serviceMaxRetries, §9.3). */
  attempt: number;
  /** Restarts run so far (any outcome). */
  restarts: number;
  lastFailure: Failure | null;
  latencyMs: number | null;
  lastCheckAt: number | null;
  episode: Episode | null;
  healthySince: number | null;
  /** The last backoff wait: carried into the next episode until resetAfter of health (§9.11). */
  lastWaitMs: number | null;
  /** When the last probe started. */
  lastProbeAt: number | null;
  /** No probe starts before this (the last start + PROBE_GAP_MS; null right after a restart). */
  gapUntil: number | null;
  /** A signal asked for a look that has not started yet: it may start before `gapUntil`… */
  signalled: boolean;
  /** …but not before this (the last such early look + PROBE_GAP_MS). */
  signalGapUntil: number | null;
  /** When the next probe is due (null: none planned in this phase). */
  nextProbeAt: number | null;
  /** A probe is in flight (never more than one). */
  probing: boolean;
  /** The restart in flight (never more than one, §9.1). */
  restart: { attempt: number; manual: boolean } | null;
  /** When the runner's one timer fires (null: no timer). */
  wakeAt: number | null;
  /**
   * A service it depends on is not healthy (the root cause's name, CONTRACT §14): its failures
   * are that one's, so it is not restarted and no attempt is used until that one is healthy.
   */
  waitingFor: string | null;
  /** A maintenance window covers it until then (CONTRACT §14): paused, probed, never restarted. */
  maintenanceUntil: number | null;
  maintenanceReason: string | null;
}

/** Everything the machine reacts to. */
export type Input =
  | { type: 'start' }
  /** Start by following a restart a previous Warden left running (§9.1), instead of probing. */
  | { type: 'adopt'; pgid: number; startedAt: number }
  /** The runner's timer fired. */
  | { type: 'tick' }
  | { type: 'probed'; result: ProbeResult }
  /**
   * The restart ended; a failed one comes with its diagnosis. `notRun`: it never ran (paused,
   * made monitor only or removed while it waited in line; or back by itself meanwhile): no attempt
   * is used, nothing failed, and the service is looked at now.
   */
  | { type: 'restarted'; result: RestartResult; diagnosis?: Diagnosis; notRun?: boolean }
  /** Word from a restart in flight (the release gate's wait, the GPU's queue); `announce`: send it as an event. */
  /** `waitUntil`: when the gate's wait gives up; null: the wait is over; absent: unchanged. */
  | { type: 'progress'; message: string; announce: boolean; waitUntil?: number | null }
  /** The answer to a `diagnose` effect: why readiness ran out. */
  | { type: 'diagnosed'; diagnosis: Diagnosis }
  /** A maintenance window covers it until `until` (with its reason), or none does any more (null). */
  | { type: 'maintenance'; until: number | null; reason: string | null }
  /** A dependency is down (its root cause's name), or null: all of them are healthy again. */
  | { type: 'dependency'; waitingFor: string | null }
  | { type: 'action'; action: ServiceAction }
  /** The settings passed with this input are new (live config, §9.4); `previous` were in force until now. */
  | { type: 'settings'; previous: MachineSettings }
  /** Something outside (watch connection, pid, Docker event) says: look now. */
  | { type: 'signal' }
  /** Stop (Warden stops: abort everything) or retire (removed from the config: a restart in flight may finish). */
  | { type: 'stop'; abortRestart: boolean };

/** Outcome of a manual action. */
export type ActionResult = { ok: true; message: string } | { ok: false; error: 'busy' | 'monitor_only' | 'stopped'; message: string };

/** What the machine asks the runner to do; data only. */
export type Effect =
  | { type: 'probe' }
  /** `adopted`: follow the restart a previous Warden left running instead of starting one. */
  | { type: 'restart'; attempt: number; manual: boolean; adopted?: boolean }
  /** Set the one timer to fire at `at` (null: no timer). */
  | { type: 'schedule'; at: number | null }
  | { type: 'emit'; event: ServiceStatusEvent }
  /** Classify why a restart never became ready (reads the service's log since the restart). */
  | { type: 'diagnose'; reason: string; output: string }
  /** Abort the probe in flight, and the restart too when `restart`. */
  | { type: 'abort'; restart: boolean }
  | { type: 'reply'; result: ActionResult };

/** One transition's result. */
export interface Step {
  state: MachineState;
  effects: Effect[];
}

/**
 * A copy of the state, field by field: what transition() starts from. A spread of this
 * 24-field object cost four times as much (1.1 KB a copy in V8 11, two copies a check: a third
 * of what a check allocated, issue 16); the return type makes the compiler name any field left out.
 */
export function copyState(s: MachineState): MachineState {
  return {
    phase: s.phase,
    status: s.status,
    message: s.message,
    since: s.since,
    updatedAt: s.updatedAt,
    attempt: s.attempt,
    restarts: s.restarts,
    lastFailure: s.lastFailure,
    latencyMs: s.latencyMs,
    lastCheckAt: s.lastCheckAt,
    episode: s.episode,
    healthySince: s.healthySince,
    lastWaitMs: s.lastWaitMs,
    lastProbeAt: s.lastProbeAt,
    gapUntil: s.gapUntil,
    signalled: s.signalled,
    signalGapUntil: s.signalGapUntil,
    nextProbeAt: s.nextProbeAt,
    probing: s.probing,
    restart: s.restart,
    wakeAt: s.wakeAt,
    waitingFor: s.waitingFor,
    maintenanceUntil: s.maintenanceUntil,
    maintenanceReason: s.maintenanceReason,
  };
}

/** A service nobody has probed yet. */
export function initialState(now: number): MachineState {
  return {
    phase: { kind: 'idle' },
    status: 'unknown',
    message: 'Not checked yet',
    since: now,
    updatedAt: now,
    attempt: 0,
    restarts: 0,
    lastFailure: null,
    latencyMs: null,
    lastCheckAt: null,
    episode: null,
    healthySince: null,
    lastWaitMs: null,
    lastProbeAt: null,
    gapUntil: null,
    signalled: false,
    signalGapUntil: null,
    nextProbeAt: null,
    probing: false,
    restart: null,
    wakeAt: null,
    waitingFor: null,
    maintenanceUntil: null,
    maintenanceReason: null,
  };
}

/** When the next restart attempt (or round) is due, as shown in events and the API. */
export function nextRetryAt(state: MachineState): number | null {
  if (state.phase.kind === 'backoff') return state.phase.until;
  if (state.phase.kind === 'failed') return state.phase.retryAt;
  return null;
}

/** While a restart waits at the GPU release gate: when that wait gives up (shown as a countdown). */
export function waitUntil(state: MachineState): number | null {
  return state.phase.kind === 'restarting' ? (state.phase.waitUntil ?? null) : null;
}
