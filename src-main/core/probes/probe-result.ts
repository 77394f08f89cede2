import { performance } from 'node:perf_hooks';
import type { ProbeResult, ProbeState } from './probe.js';

/** Builds a result whose latency is the whole milliseconds since `startedAt` (a performance.now()). */
export function probeResult(state: ProbeState, reason: string, startedAt: number): ProbeResult {
  return { state, reason, latencyMs: Math.max(0, Math.round(performance.now() - startedAt)) };
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  UND_ERR_SOCKET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** A short, human reason for a network error: "connection refused" rather than a stack of codes. */
export function describeNetworkError(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && REASONS[code]) return REASONS[code];
  const message = err instanceof Error ? err.message : String(err);
  return message.length > 200 ? `${message.slice(0, 197)}...` : message;
}
