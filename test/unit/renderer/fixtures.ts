import type { ServiceState, ServiceStatusEvent } from '../../../src-shared/protocol.js';

/** A healthy ServiceState with the given overrides. */
export function state(service: string, over: Partial<ServiceState> = {}): ServiceState {
  return {
    service,
    status: 'healthy',
    message: 'Health check passed',
    timestamp: '2025-12-26T02:00:00.000Z',
    attempt: 0,
    maxAttempts: 3,
    nextRetryAt: null,
    lastCheckAt: '2025-12-26T02:00:00.000Z',
    latencyMs: 4,
    restarts: 0,
    since: '2025-12-26T02:00:00.000Z',
    lastFailure: null,
    monitorOnly: false,
    recentLatencies: [3, 4, 5],
    ...over,
  };
}

/** A service_status event with the given overrides. */
export function event(service: string, over: Partial<ServiceStatusEvent> = {}): ServiceStatusEvent {
  return {
    type: 'service_status',
    service,
    status: 'unhealthy',
    message: 'Health check failed: connection refused',
    timestamp: '2025-12-26T02:30:00.000Z',
    attempt: 1,
    maxAttempts: 3,
    nextRetryAt: null,
    latencyMs: null,
    previous: 'healthy',
    ...over,
  };
}

/** Index states by name, as the hook hands them out. */
export function byName(...list: ServiceState[]): Record<string, ServiceState> {
  return Object.fromEntries(list.map((s) => [s.service, s]));
}
