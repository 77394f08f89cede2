import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ServiceStatusAlert } from '../../../src-renderer/components/common/ServiceStatusAlert.js';
import type { ServiceState } from '../../../src-shared/protocol.js';
import { byName, state } from './fixtures.js';

const NOW = Date.parse('2025-12-26T02:30:00.000Z');

function show(...list: ServiceState[]) {
  const view = render(<ServiceStatusAlert states={byName(...list)} />);
  return { ...view, update: (...next: ServiceState[]) => view.rerender(<ServiceStatusAlert states={byName(...next)} />) };
}

const banner = () => screen.queryByRole('alert');

describe('ServiceStatusAlert', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  it('shows nothing while every service is healthy, unknown or paused', () => {
    show(state('a'), state('b', { status: 'unknown' }), state('c', { status: 'paused' }));
    expect(banner()).toBeNull();
  });

  it('is yellow for restarting and starting', () => {
    const { update } = show(state('rtdetr', { status: 'restarting', message: 'Attempting restart (attempt 1/3)', attempt: 1 }));
    expect(banner()?.dataset.severity).toBe('warning');
    expect(banner()?.className).toContain('alert--warning');
    update(state('rtdetr', { status: 'starting', message: 'Loading model' }));
    expect(banner()?.dataset.severity).toBe('warning');
  });

  it.each(['unhealthy', 'restart_failed', 'failed'] as const)('is red for %s', (status) => {
    show(state('a', { status }));
    expect(banner()?.dataset.severity).toBe('error');
  });

  it('red wins when problems are mixed, and names every service with its message', () => {
    show(state('redis', { status: 'restarting', message: 'Attempting restart (attempt 2/3)', attempt: 2 }), state('nemotron', { status: 'failed', message: 'Max retries exceeded', attempt: 3 }), state('ok'));
    const el = banner()!;
    expect(el.dataset.severity).toBe('error');
    expect(el.textContent).toContain('2 services need attention');
    expect(el.querySelector('[data-service="redis"]')?.textContent).toContain('Attempting restart (attempt 2/3)');
    expect(el.querySelector('[data-service="nemotron"]')?.textContent).toContain('Max retries exceeded');
    expect(el.querySelector('[data-service="nemotron"]')?.textContent).toContain('attempt 3/3');
    expect(el.querySelector('[data-service="ok"]')).toBeNull();
  });

  it('shows "attempt n/N" once, even when the message already says it', () => {
    show(state('a', { status: 'unhealthy', message: 'Health check failed', attempt: 1, maxAttempts: 3 }));
    expect(banner()!.textContent).toContain('1 service needs attention');
    expect(banner()!.textContent).toContain('attempt 1/3');
    cleanup();
    show(state('a', { status: 'restarting', message: 'Attempting restart (attempt 1/3)', attempt: 1, maxAttempts: 3 }));
    expect(banner()!.textContent!.match(/attempt 1\/3/g)).toHaveLength(1);
  });

  it('counts down to the next retry every second', () => {
    show(state('a', { status: 'unhealthy', attempt: 1, nextRetryAt: new Date(NOW + 7000).toISOString() }));
    const timer = () => screen.getByRole('timer').textContent;
    expect(timer()).toContain('next retry in 7 s');
    act(() => vi.advanceTimersByTime(1000));
    expect(timer()).toContain('next retry in 6 s');
    act(() => vi.advanceTimersByTime(6000));
    expect(timer()).toContain('retrying now');
  });

  it('counts down the GPU release wait every second, beside a retry countdown when both are set', () => {
    const { update } = show(state('a', { status: 'restarting', message: 'Waiting for GPU memory to be released (4096 of 18000 MiB free)', waitUntil: new Date(NOW + 3000).toISOString() }));
    const timer = () => screen.getByRole('timer').textContent;
    expect(timer()).toContain('gives up waiting in 3 s');
    act(() => vi.advanceTimersByTime(3000));
    expect(timer()).toContain('giving up waiting now');
    update(state('a', { status: 'restarting', nextRetryAt: new Date(NOW + 10_000).toISOString(), waitUntil: new Date(NOW + 20_000).toISOString() }));
    expect(timer()).toContain('next retry in 7 s · gives up waiting in 17 s');
  });

  it('dismisses itself when every service has recovered', () => {
    const { update } = show(state('a', { status: 'failed' }));
    expect(banner()).not.toBeNull();
    update(state('a'));
    expect(banner()).toBeNull();
  });

  it('a manual dismiss hides the current episode, even as its status changes', () => {
    const { update } = show(state('a', { status: 'unhealthy' }));
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss this alert' }));
    expect(banner()).toBeNull();
    update(state('a', { status: 'restarting' }));
    update(state('a', { status: 'restart_failed' }));
    update(state('a', { status: 'failed' }));
    expect(banner()).toBeNull();
  });

  it('comes back when the dismissed service recovers and fails again (a new episode)', () => {
    const { update } = show(state('a', { status: 'failed' }));
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss this alert' }));
    update(state('a'));
    update(state('a', { status: 'unhealthy' }));
    expect(banner()).not.toBeNull();
  });

  it('comes back when another service starts a new episode, and lists both', () => {
    const { update } = show(state('a', { status: 'failed' }), state('b'));
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss this alert' }));
    expect(banner()).toBeNull();
    update(state('a', { status: 'failed' }), state('b', { status: 'restarting' }));
    expect(banner()).not.toBeNull();
    expect(banner()!.querySelector('[data-service="a"]')).not.toBeNull();
    expect(banner()!.querySelector('[data-service="b"]')).not.toBeNull();
  });

  it('a service returning from pause to a problem is a new episode', () => {
    const { update } = show(state('a', { status: 'unhealthy' }));
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss this alert' }));
    update(state('a', { status: 'paused' }));
    update(state('a', { status: 'unhealthy' }));
    expect(banner()).not.toBeNull();
  });
});
