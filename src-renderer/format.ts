import type { ServiceStatusValue } from '../src-shared/status.js';

const LABELS: Record<ServiceStatusValue, string> = {
  unknown: 'Unknown',
  healthy: 'Healthy',
  starting: 'Starting',
  unhealthy: 'Unhealthy',
  restarting: 'Restarting',
  restart_failed: 'Restart failed',
  failed: 'Failed',
  paused: 'Paused',
};

// A shape as well as a colour, so status never depends on colour alone.
const ICONS: Record<ServiceStatusValue, string> = {
  unknown: '?',
  healthy: '✓',
  starting: '…',
  unhealthy: '!',
  restarting: '↻',
  restart_failed: '✖',
  failed: '✖',
  paused: '⏸',
};

/** The words a person reads for a status. */
export function statusLabel(status: ServiceStatusValue): string {
  return LABELS[status];
}

/** A one-character symbol for a status. */
export function statusIcon(status: ServiceStatusValue): string {
  return ICONS[status];
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago"; "" for a missing or bad time. */
export function relativeTime(iso: string | null, now: number): string {
  const at = iso === null ? NaN : Date.parse(iso);
  if (Number.isNaN(at)) return '';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** Whole seconds until `iso` (never negative); null for no time. */
export function secondsUntil(iso: string | null, now: number): number | null {
  const at = iso === null ? NaN : Date.parse(iso);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/** "next retry in 7 s" (or "retrying now" once due); "" when there is no retry scheduled. */
export function retryCountdown(iso: string | null, now: number): string {
  const s = secondsUntil(iso, now);
  if (s === null) return '';
  if (s === 0) return 'retrying now';
  if (s < 120) return `next retry in ${s} s`;
  return `next retry in ${Math.ceil(s / 60)} min`;
}

/** "gives up waiting in 25 s" while a restart waits at the GPU gate (CONTRACT §11); "" when it does not. */
export function waitCountdown(iso: string | null, now: number): string {
  const s = secondsUntil(iso, now);
  if (s === null) return '';
  if (s === 0) return 'giving up waiting now';
  if (s < 120) return `gives up waiting in ${s} s`;
  return `gives up waiting in ${Math.ceil(s / 60)} min`;
}

/** MiB as GiB with one decimal ("18.2"); "—" when the driver did not report it. */
export function formatGiB(mib: number | null): string {
  return mib === null ? '—' : (mib / 1024).toFixed(1);
}

/** "18.2 / 24.0 GiB" (either side "—" when not reported). */
export function memoryText(usedMiB: number | null, totalMiB: number | null): string {
  return `${formatGiB(usedMiB)} / ${formatGiB(totalMiB)} GiB`;
}

/** A reading with its unit ("87 %", "64 °C"); "—" when not reported, never 0. */
export function formatReading(value: number | null, unit: string): string {
  return value === null ? '—' : `${Math.round(value)} ${unit}`;
}

/** "12 ms", "1.2 s"; "—" for no measurement. */
export function formatLatency(ms: number | null): string {
  if (ms === null) return '—';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** "03:30": local time, 24 h (maintenance ends are read against the wall clock); "" for a missing or bad time. */
export function clockTime(iso: string | null | undefined): string {
  const at = iso ? new Date(iso) : null;
  if (!at || Number.isNaN(at.getTime())) return '';
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(at.getHours())}:${two(at.getMinutes())}`;
}
