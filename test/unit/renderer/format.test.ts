import { describe, expect, it } from 'vitest';
import { formatRatio, uptimeLevel } from '../../../src-renderer/components/dashboard/UptimeBar.js';
import { sparkPoints } from '../../../src-renderer/components/dashboard/Sparkline.js';
import { formatGiB, formatLatency, formatReading, memoryText, relativeTime, retryCountdown, secondsUntil, statusIcon, statusLabel, waitCountdown } from '../../../src-renderer/format.js';
import { routeOf } from '../../../src-renderer/hooks/useHashRoute.js';
import { pageTitle } from '../../../src-renderer/page-title.js';
import { STATUSES } from '../../../src-shared/status.js';
import { byName, state } from './fixtures.js';

const T = Date.parse('2025-12-26T02:00:00.000Z');

describe('formatting', () => {
  it('every status has a label and a symbol, so colour is never the only cue', () => {
    for (const s of STATUSES) {
      expect(statusLabel(s)).toMatch(/^[A-Z]/);
      expect(statusIcon(s)).not.toBe('');
    }
    expect(statusLabel('restart_failed')).toBe('Restart failed');
  });

  it('relative times read naturally', () => {
    const ago = (s: number) => new Date(T - s * 1000).toISOString();
    expect(relativeTime(ago(2), T)).toBe('just now');
    expect(relativeTime(ago(42), T)).toBe('42 s ago');
    expect(relativeTime(ago(5 * 60 + 10), T)).toBe('5 min ago');
    expect(relativeTime(ago(3 * 3600), T)).toBe('3 h ago');
    expect(relativeTime(ago(2 * 86_400), T)).toBe('2 d ago');
    expect(relativeTime(new Date(T + 10_000).toISOString(), T)).toBe('just now');
    expect(relativeTime(null, T)).toBe('');
    expect(relativeTime('not a time', T)).toBe('');
  });

  it('the retry countdown counts whole seconds up, then says "retrying now"', () => {
    const at = (ms: number) => new Date(T + ms).toISOString();
    expect(retryCountdown(at(7000), T)).toBe('next retry in 7 s');
    expect(retryCountdown(at(6100), T)).toBe('next retry in 7 s');
    expect(retryCountdown(at(0), T)).toBe('retrying now');
    expect(retryCountdown(at(-5000), T)).toBe('retrying now');
    expect(retryCountdown(at(600_000), T)).toBe('next retry in 10 min');
    expect(retryCountdown(null, T)).toBe('');
    expect(secondsUntil('garbage', T)).toBeNull();
  });

  it('the GPU release wait counts down to giving up (CONTRACT §11)', () => {
    const at = (ms: number) => new Date(T + ms).toISOString();
    expect(waitCountdown(at(25_000), T)).toBe('gives up waiting in 25 s');
    expect(waitCountdown(at(24_100), T)).toBe('gives up waiting in 25 s');
    expect(waitCountdown(at(-1000), T)).toBe('giving up waiting now');
    expect(waitCountdown(at(300_000), T)).toBe('gives up waiting in 5 min');
    expect(waitCountdown(null, T)).toBe('');
    expect(waitCountdown('garbage', T)).toBe('');
  });

  it('GPU memory in GiB with one decimal, readings with their unit; "—" when not reported, not 0', () => {
    expect(memoryText(18636, 24564)).toBe('18.2 / 24.0 GiB');
    expect(memoryText(0, 24564)).toBe('0.0 / 24.0 GiB');
    expect(memoryText(null, null)).toBe('— / — GiB');
    expect(formatGiB(17510)).toBe('17.1');
    expect(formatGiB(null)).toBe('—');
    expect(formatReading(86.6, '%')).toBe('87 %');
    expect(formatReading(0, '°C')).toBe('0 °C');
    expect(formatReading(null, '%')).toBe('—');
  });

  it('latencies in ms below a second, else in seconds', () => {
    expect(formatLatency(null)).toBe('—');
    expect(formatLatency(3.4)).toBe('3 ms');
    expect(formatLatency(1234)).toBe('1.2 s');
  });

  it('uptime ratios and their colour levels', () => {
    expect(formatRatio(null)).toBe('—');
    expect(formatRatio(1)).toBe('100 %');
    expect(formatRatio(0)).toBe('0 %');
    expect(formatRatio(0.9951)).toBe('99.5 %');
    expect(formatRatio(0.99999)).toBe('99.9 %');
    expect(formatRatio(0.5)).toBe('50 %');
    expect([null, 1, 0.99, 0.95, 0.5].map(uptimeLevel)).toEqual(['none', 'good', 'good', 'degraded', 'bad']);
  });

  it('sparkline points span the box, lowest value at the bottom', () => {
    expect(sparkPoints([], 100, 20)).toBe('');
    expect(sparkPoints([5], 100, 20)).toBe('50.0,19.0');
    expect(sparkPoints([1, 3], 100, 20)).toBe('1.0,19.0 99.0,1.0');
    expect(sparkPoints([2, 2], 10, 10)).toBe('1.0,9.0 9.0,9.0');
  });

  it('the page title leads with the worst status', () => {
    expect(pageTitle({})).toBe('Warden');
    expect(pageTitle(byName(state('a'), state('b', { status: 'paused' })))).toBe('Warden — no problems');
    expect(pageTitle(byName(state('a'), state('b', { status: 'restarting' })))).toBe('⚠ Warden — 1 problem');
    expect(pageTitle(byName(state('a', { status: 'failed' }), state('b', { status: 'starting' })))).toBe('✖ Warden — 2 problems');
  });

  it('the hash names the page', () => {
    expect(routeOf('#/settings')).toBe('settings');
    expect(routeOf('#/settings/')).toBe('settings');
    expect(routeOf('')).toBe('dashboard');
    expect(routeOf('#/')).toBe('dashboard');
    expect(routeOf('#token=abc')).toBe('dashboard');
  });
});
