import { describe, expect, it } from 'vitest';
import { clockTime } from '../../../src-renderer/format.js';
import { normaliseWindows, windowText } from '../../../src-renderer/state/maintenance.js';

const FROM = '2025-12-26T03:00:00.000Z';
const TO = new Date(2025, 11, 26, 3, 30).toISOString();

describe('maintenance windows from the server', () => {
  it('keeps well-formed windows as they are', () => {
    const w = { id: 'w1', services: ['rtdetr'], from: FROM, to: TO, reason: 'driver update', source: 'api', active: true };
    expect(normaliseWindows([w])).toEqual([w]);
  });

  it('skips entries without an id or ends, and reads odd fields the safe way', () => {
    const raw = [
      null,
      'w',
      { id: 'no-ends', from: FROM },
      { id: 1, from: FROM, to: TO },
      { id: 'w2', services: 'all', from: FROM, to: TO, reason: 5, source: 'cli', active: 'yes' },
      { id: 'w3', services: ['redis', 7], from: FROM, to: TO },
    ];
    expect(normaliseWindows(raw)).toEqual([
      // Only "api" windows can be ended, so an unknown source is treated as a config one.
      { id: 'w2', services: null, from: FROM, to: TO, reason: null, source: 'config', active: false },
      { id: 'w3', services: ['redis'], from: FROM, to: TO, reason: null, source: 'config', active: false },
    ]);
    expect(normaliseWindows(undefined)).toEqual([]);
    expect(normaliseWindows({ windows: [] })).toEqual([]);
  });

  it('says until when, for whom and why', () => {
    const w = { id: 'w', services: ['rtdetr', 'nemotron'], from: FROM, to: TO, reason: 'driver update', source: 'api' as const, active: true };
    expect(windowText(w)).toBe('Maintenance until 03:30 — rtdetr, nemotron (driver update)');
    expect(windowText({ ...w, services: null, reason: null })).toBe('Maintenance until 03:30 — all services');
    expect(windowText({ ...w, reason: '' })).toBe('Maintenance until 03:30 — rtdetr, nemotron');
  });
});

describe('clockTime', () => {
  it('is the local time of day, 24 h, zero-padded', () => {
    expect(clockTime(new Date(2025, 11, 26, 3, 5).toISOString())).toBe('03:05');
    expect(clockTime(new Date(2025, 11, 26, 23, 59).toISOString())).toBe('23:59');
  });

  it('is empty for a missing or unreadable time', () => {
    expect(clockTime(undefined)).toBe('');
    expect(clockTime(null)).toBe('');
    expect(clockTime('')).toBe('');
    expect(clockTime('soon')).toBe('');
  });
});
