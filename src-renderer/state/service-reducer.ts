import type { ServiceState } from '../../src-shared/protocol.js';
import { toCause } from '../../src-shared/causes.js';
import { severityOf, toStatus, type ServiceStatusValue } from '../../src-shared/status.js';
import { isObject, num, numOrNull, str, strOrNull, type Loose } from './loose-json.js';

/** Every service's latest state, by name, in the server's (config) order. */
export interface ServicesState {
  services: Record<string, ServiceState>;
  /** Bumped on every applied status event: lets views refetch details the WebSocket does not carry. */
  revision: number;
  /**
   * Bumped on every applied event whose status is paused or that leaves paused: maintenance
   * windows start and end with such events, so the maintenance list is refetched on them.
   */
  pauseRevision: number;
}

/** What changes the dashboard's picture of the services. */
export type ServicesAction =
  | { type: 'snapshot'; services: unknown[] }
  | { type: 'event'; event: unknown }
  | { type: 'poll'; services: unknown[] };

/** The state before anything arrived. */
export const initialServicesState: ServicesState = { services: {}, revision: 0, pauseRevision: 0 };

/** `waitUntil` only while the server sends one: it exists only while a restart waits at the GPU gate. */
function withWait(s: ServiceState, raw: Loose): ServiceState {
  const { waitUntil: _old, ...rest } = s;
  return typeof raw.waitUntil === 'string' ? { ...rest, waitUntil: raw.waitUntil } : rest;
}

/** `maintenanceUntil` only as a string (CONTRACT §14): the server sends it only while a window covers the service. */
function withMaintenance(s: ServiceState, until: unknown): ServiceState {
  const { maintenanceUntil: _old, ...rest } = s;
  return typeof until === 'string' ? { ...rest, maintenanceUntil: until } : rest;
}

const DEEP_OUTCOMES = ['ok', 'failed', 'skipped', 'pending'] as const;

/** A deep check's view (CONTRACT §14) from untrusted JSON; undefined when there is none or it is unreadable. */
function deepCheckOf(v: unknown): ServiceState['deepCheck'] {
  if (!isObject(v) || typeof v.request !== 'string') return undefined;
  const outcome = (DEEP_OUTCOMES as readonly unknown[]).includes(v.outcome) ? (v.outcome as (typeof DEEP_OUTCOMES)[number]) : 'pending';
  return { request: v.request, every: num(v.every, 0), outcome, reason: str(v.reason, ''), latencyMs: numOrNull(v.latencyMs), at: strOrNull(v.at) };
}

/** `deepCheck` only when the server sends one. */
function withDeepCheck(s: ServiceState, raw: unknown): ServiceState {
  const { deepCheck: _old, ...rest } = s;
  const deep = deepCheckOf(raw);
  return deep ? { ...rest, deepCheck: deep } : rest;
}

function lastFailureOf(v: unknown): ServiceState['lastFailure'] {
  if (!isObject(v) || typeof v.reason !== 'string') return null;
  // An older server sends no cause: "the restart command failed" is the fair reading then.
  return { reason: v.reason, output: str(v.output, ''), at: str(v.at, ''), cause: toCause(v.cause) ?? 'exit' };
}

/**
 * A ServiceState from untrusted JSON: an unknown status becomes 'unknown', missing fields get
 * neutral values, so a newer or older server never crashes the page. Null without a service name.
 */
export function normaliseState(raw: unknown): ServiceState | null {
  if (!isObject(raw) || typeof raw.service !== 'string' || raw.service === '') return null;
  const timestamp = str(raw.timestamp, new Date(0).toISOString());
  const state: ServiceState = {
    service: raw.service,
    status: toStatus(raw.status),
    message: str(raw.message, ''),
    timestamp,
    attempt: num(raw.attempt, 0),
    maxAttempts: num(raw.maxAttempts, 0),
    nextRetryAt: strOrNull(raw.nextRetryAt),
    lastCheckAt: strOrNull(raw.lastCheckAt),
    latencyMs: numOrNull(raw.latencyMs),
    restarts: num(raw.restarts, 0),
    since: str(raw.since, timestamp),
    lastFailure: lastFailureOf(raw.lastFailure),
    monitorOnly: raw.monitorOnly === true,
    recentLatencies: Array.isArray(raw.recentLatencies) ? raw.recentLatencies.filter((n): n is number => typeof n === 'number' && Number.isFinite(n)) : [],
  };
  // What it needs (CONTRACT §14), from the snapshot and polls; events do not carry it.
  const needs = Array.isArray(raw.dependsOn) ? raw.dependsOn.filter((n): n is string => typeof n === 'string') : [];
  if (needs.length > 0) state.dependsOn = needs;
  return withDeepCheck(withWait(withMaintenance(state, raw.maintenanceUntil), raw), raw.deepCheck);
}

function byName(list: unknown[]): Record<string, ServiceState> {
  const out: Record<string, ServiceState> = {};
  for (const raw of list) {
    const s = normaliseState(raw);
    if (s) out[s.service] = s;
  }
  return out;
}

/** Merge one service_status event into the service it names (an unknown service is added). */
export function applyEvent(current: ServiceState | undefined, raw: unknown): ServiceState | null {
  if (!isObject(raw) || typeof raw.service !== 'string' || raw.service === '') return null;
  const base = current ?? normaliseState({ ...raw, status: 'unknown', lastFailure: null });
  /* c8 ignore next -- normaliseState only refuses what the guard above already refused */
  if (!base) return null;
  const status = toStatus(raw.status);
  const timestamp = str(raw.timestamp, base.timestamp);
  const changed = current === undefined || status !== current.status;
  const next: ServiceState = {
    ...base,
    status,
    message: str(raw.message, base.message),
    timestamp,
    attempt: num(raw.attempt, base.attempt),
    maxAttempts: num(raw.maxAttempts, base.maxAttempts),
    nextRetryAt: 'nextRetryAt' in raw ? strOrNull(raw.nextRetryAt) : base.nextRetryAt,
    latencyMs: 'latencyMs' in raw ? numOrNull(raw.latencyMs) : base.latencyMs,
    since: changed ? timestamp : base.since,
    lastFailure: typeof raw.reason === 'string' ? { reason: raw.reason, output: str(raw.output, ''), at: timestamp, cause: toCause(raw.cause) ?? 'exit' } : base.lastFailure,
  };
  // The server sends waitUntil only while a restart waits at the GPU gate: an event without it ends the wait.
  // Events never carry maintenanceUntil (snapshot and polls do): it is kept while the service
  // stays paused, and dropped once it is not, since a window always shows as paused.
  return withWait(status === 'paused' ? next : withMaintenance(next, undefined), raw);
}

/**
 * Fold a polled /api/status answer in. Probe details (latencies, last check, restarts, last
 * failure) always come from the poll; the status itself only when the poll is not older than
 * what the WebSocket already told us, so a slow poll never undoes a newer event.
 */
function mergePolled(current: ServiceState | undefined, polled: ServiceState): ServiceState {
  if (!current || Date.parse(polled.timestamp) >= Date.parse(current.timestamp)) return polled;
  const { dependsOn: _was, ...rest } = current;
  const merged: ServiceState = {
    ...rest,
    ...(polled.dependsOn ? { dependsOn: polled.dependsOn } : {}),
    lastCheckAt: polled.lastCheckAt,
    latencyMs: polled.latencyMs,
    recentLatencies: polled.recentLatencies,
    restarts: polled.restarts,
    lastFailure: polled.lastFailure,
    monitorOnly: polled.monitorOnly,
  };
  const deep = withDeepCheck(merged, polled.deepCheck);
  // The poll is the only source of maintenanceUntil, so it sets and clears it, but only while
  // the newer status the events gave is still paused (a window ended since: no end time to show).
  return withMaintenance(deep, current.status === 'paused' ? polled.maintenanceUntil : undefined);
}

/** The dashboard's state machine: snapshot replaces, events merge, polls refresh details. */
export function servicesReducer(state: ServicesState, action: ServicesAction): ServicesState {
  switch (action.type) {
    case 'snapshot':
      return { ...state, services: byName(action.services) };
    case 'event': {
      const name = isObject(action.event) ? action.event.service : undefined;
      const next = applyEvent(typeof name === 'string' ? state.services[name] : undefined, action.event);
      if (!next) return state;
      const pause = next.status === 'paused' || state.services[next.service]?.status === 'paused';
      return { services: { ...state.services, [next.service]: next }, revision: state.revision + 1, pauseRevision: state.pauseRevision + (pause ? 1 : 0) };
    }
    case 'poll': {
      // The poll lists every configured service: one missing from it was removed in settings.
      const polled = byName(action.services);
      const services: Record<string, ServiceState> = {};
      for (const [name, s] of Object.entries(polled)) services[name] = mergePolled(state.services[name], s);
      return { ...state, services };
    }
  }
}

/** Statuses the banner reports: starting/restarting (yellow) and the failures (red). */
export function isProblem(status: ServiceStatusValue): boolean {
  const sev = severityOf(status);
  return sev === 'warning' || sev === 'error';
}

/** True while any service is in a problem status (the design's hasUnhealthy). */
export function hasProblem(services: Record<string, ServiceState>): boolean {
  return Object.values(services).some((s) => isProblem(s.status));
}

const MESSAGE_TYPES = ['snapshot', 'service_status', 'heartbeat', 'config', 'gpu'] as const;

/** The event's type field, when the message is one the dashboard understands. */
export function messageType(msg: unknown): (typeof MESSAGE_TYPES)[number] | null {
  if (!isObject(msg)) return null;
  return MESSAGE_TYPES.find((t) => t === msg.type) ?? null;
}
