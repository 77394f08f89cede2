import type { FailureCause } from './causes.js';
import type { ServiceStatusValue } from './status.js';

/** The design's WebSocket event: the five fields exactly, plus Warden's extras (CONTRACT §4). */
export interface ServiceStatusEvent {
  type: 'service_status';
  service: string;
  status: ServiceStatusValue;
  message: string;
  /** ISO 8601 UTC ending in Z. */
  timestamp: string;
  attempt: number;
  maxAttempts: number;
  nextRetryAt: string | null;
  latencyMs: number | null;
  previous: ServiceStatusValue | null;
  /** Why the last restart failed and the tail of its output, when this event reports one. */
  reason?: string;
  output?: string;
  /** On restart_failed and failed: the failure's cause (CONTRACT §12). */
  cause?: FailureCause;
  /** While a restart waits at the GPU release gate: when that wait gives up (ISO; CONTRACT §11). */
  waitUntil?: string;
  /** On a dependency_down event: the root cause it waits for (CONTRACT §14). */
  waitingFor?: string;
}

/** A service's current state, as served by /api/status and the WebSocket snapshot (CONTRACT §5). */
export interface ServiceState {
  service: string;
  status: ServiceStatusValue;
  message: string;
  timestamp: string;
  attempt: number;
  maxAttempts: number;
  nextRetryAt: string | null;
  lastCheckAt: string | null;
  latencyMs: number | null;
  restarts: number;
  since: string;
  /** Extras: the last restart failure, monitor-only flag, recent probe latencies (oldest first). */
  lastFailure: { reason: string; output: string; at: string; cause: FailureCause } | null;
  monitorOnly: boolean;
  recentLatencies: number[];
  /** While a restart waits at the GPU release gate: when that wait gives up (ISO; CONTRACT §11). */
  waitUntil?: string;
  /** The services it needs (CONTRACT §14), when it has any. */
  dependsOn?: string[];
  /** While one of them is not healthy: the root cause's name (it is not restarted meanwhile). */
  waitingFor?: string;
  /** While a maintenance window covers it (CONTRACT §14): when that ends (ISO). */
  maintenanceUntil?: string;
  /** Its deep check (CONTRACT §14), when it has one. */
  deepCheck?: DeepCheckView;
}

/** A service's deep check as the card shows it: what it sends, how often, and how the last run went. */
export interface DeepCheckView {
  /** "POST /completion". */
  request: string;
  /** Seconds between runs while it is healthy. */
  every: number;
  /** 'pending': not run yet; 'skipped': every llama.cpp slot was busy, or it could not run (the reason says). */
  outcome: 'ok' | 'failed' | 'skipped' | 'pending';
  reason: string;
  /** Wall time of the last run. */
  latencyMs: number | null;
  /** When the last run ended (ISO); null: not run yet. */
  at: string | null;
}

/** A maintenance window (CONTRACT §14): from the config (recurring, cron) or the API (ad hoc). */
export interface MaintenanceWindow {
  id: string;
  /** The services it covers; null: all of them. */
  services: string[] | null;
  /** The current occurrence if active, else the next one (ISO). */
  from: string;
  to: string;
  reason: string | null;
  source: 'config' | 'api';
  active: boolean;
}

/** GET /api/maintenance. */
export interface MaintenanceList {
  windows: MaintenanceWindow[];
  timestamp: string;
}

export interface SnapshotMessage {
  type: 'snapshot';
  services: ServiceState[];
  timestamp: string;
  /** A hand edit of the config file that could not be used (extra; absent or null: none). */
  configProblem?: string | null;
}

/**
 * The config file changed on disk (a hand edit, CONTRACT §10): applied, or refused with the reason
 * (the running config stays). The snapshot carries the standing problem as `configProblem`.
 */
export interface ConfigNotice {
  type: 'config';
  status: 'applied' | 'invalid';
  message: string;
  timestamp: string;
}

/** One GPU as nvidia-smi reports it (CONTRACT §11); a field it cannot read ([N/A]) is null. */
export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  memoryUsedMiB: number | null;
  memoryTotalMiB: number | null;
  utilizationPct: number | null;
  temperatureC: number | null;
  powerW: number | null;
  /** Compute processes on it, each with the service it belongs to (null: none of Warden's). */
  processes: { pid: number; usedMiB: number | null; service: string | null }[];
}

/** GET /api/gpus and the WebSocket `gpu` message. Without a usable GPU: available false, and why. */
export interface GpuSnapshot {
  available: boolean;
  reason: string | null;
  gpus: GpuInfo[];
  timestamp: string;
}

export type GpuMessage = { type: 'gpu' } & GpuSnapshot;

export interface HeartbeatMessage {
  type: 'heartbeat';
  timestamp: string;
}

/** Every message the server sends on /ws. */
export type ServerMessage = SnapshotMessage | ServiceStatusEvent | HeartbeatMessage | ConfigNotice | GpuMessage;

/** The WebSocket subprotocol the server answers with. */
export const WS_PROTOCOL = 'warden.v1';
/** Browsers cannot set headers on a WebSocket: the token rides in a subprotocol with this prefix. */
export const WS_AUTH_PREFIX = 'auth.';

/** One alert channel as GET /api/alerts shows it (CONTRACT §15); never a secret. */
export interface ChannelStatus {
  /** Its name, or its type and a hash of where it delivers. */
  id: string;
  type: 'webhook' | 'ntfy' | 'smtp' | 'apprise';
  name: string | null;
  /** Where it delivers, without secrets: "https://ntfy.sh/warden-home", "tgram://***". */
  target: string;
  minSeverity: 'warning' | 'error';
  /** Alerts waiting to be delivered (retried with backoff). */
  queued: number;
  lastDelivery: { at: string; alertId: string; title: string } | null;
  lastError: { at: string; alertId: string; message: string; attempts: number } | null;
}

/** GET /api/alerts. */
export interface AlertsStatus {
  channels: ChannelStatus[];
  /** The latest alerts, newest first. */
  recent: { id: string; kind: string; severity: string; service?: string; title: string; body: string; at: string }[];
  minSeverity: 'warning' | 'error';
  repeatAfter: number;
}

/** Manual actions (dashboard, tray, CLI, REST). */
export const ACTIONS = ['restart', 'pause', 'resume', 'reset'] as const;
export type ServiceAction = (typeof ACTIONS)[number];
