import { act, fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { EVENT_REFRESH_DELAY_MS, STATUS_REFRESH_MS } from '../../../src-renderer/components/dashboard/Dashboard.js';
import type { MaintenanceWindow } from '../../../src-shared/protocol.js';
import { fakeFetch, type Call } from './fake-fetch.js';
import { FakeWebSocket } from './fake-websocket.js';
import { event, state } from './fixtures.js';
import { freshAppEachTest, renderApp, settle, STATUS } from './render-app.js';

// Maintenance windows in the dashboard (CONTRACT §14), through App: the banner on every page,
// the header's and the cards' quick buttons, and how the list is kept fresh.

// 03:30 on the machine's own clock, whatever its time zone: the banner shows local time.
const UNTIL = new Date(2025, 11, 26, 3, 30).toISOString();

function win(over: Partial<MaintenanceWindow> = {}): MaintenanceWindow {
  return { id: 'w1', services: ['rtdetr', 'nemotron'], from: new Date(2025, 11, 26, 3, 0).toISOString(), to: UNTIL, reason: 'driver update', source: 'api', active: true, ...over };
}
const list = (...windows: MaintenanceWindow[]) => ({ status: 200, body: { windows, timestamp: 'x' } });

type Routes = Parameters<typeof fakeFetch>[0];
const app = (routes: Routes = {}) => renderApp(routes);
const banner = () => screen.queryByRole('region', { name: 'Maintenance' });
const lines = () => within(banner()!).getAllByRole('listitem').map((li) => li.textContent);
const gets = (calls: Call[]) => calls.filter((c) => c.method === 'GET' && c.path === '/api/maintenance').length;

freshAppEachTest();

describe('maintenance banner', () => {
  it('lists each active window with its end, services and reason, "all services" for a window over all; upcoming ones are not shown', async () => {
    app({
      'GET /api/maintenance': list(
        win(),
        win({ id: 'w2', services: null, reason: null, source: 'config' }),
        win({ id: 'w3', services: ['redis'], reason: 'nightly', source: 'config', active: false }),
      ),
    });
    await settle();
    expect(lines()).toEqual(['Maintenance until 03:30 — rtdetr, nemotron (driver update)', 'Maintenance until 03:30 — all services']);
    // On top of the page, like the alert banner.
    expect(banner()!.compareDocumentPosition(document.querySelector('main')!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it('shows no banner while nothing is active, and no "End maintenance" for config windows only', async () => {
    let answer = list(win({ active: false }));
    app({ 'GET /api/maintenance': () => answer });
    await settle();
    expect(banner()).toBeNull();
    answer = list(win({ source: 'config' }));
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS));
    expect(lines()).toEqual(['Maintenance until 03:30 — rtdetr, nemotron (driver update)']);
    expect(within(banner()!).queryByRole('button', { name: 'End maintenance' })).toBeNull();
  });

  it('"End maintenance" ends the ad-hoc windows with DELETE, refetches, and the banner goes', async () => {
    let windows = [win()];
    const { calls } = app({
      'GET /api/maintenance': () => list(...windows),
      'DELETE /api/maintenance': () => {
        windows = [];
        return { status: 200, body: { ok: true, ended: 1 } };
      },
    });
    await settle();
    const before = gets(calls);
    fireEvent.click(within(banner()!).getByRole('button', { name: 'End maintenance' }));
    await settle();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => [c.path, c.headers.Authorization])).toEqual([['/api/maintenance', 'Bearer tok']]);
    expect(gets(calls)).toBe(before + 1);
    expect(banner()).toBeNull();
  });

  it('says why ending failed, and keeps the banner; an unreachable server too', async () => {
    let n = 0;
    app({
      'GET /api/maintenance': list(win()),
      'DELETE /api/maintenance': () => (++n === 1 ? { status: 500, body: { error: 'could not save' } } : new TypeError('offline')),
    });
    await settle();
    const end = within(banner()!).getByRole('button', { name: 'End maintenance' });
    fireEvent.click(end);
    await settle();
    expect(within(banner()!).getByRole('status').textContent).toBe('could not save');
    fireEvent.click(end);
    await settle();
    expect(within(banner()!).getByRole('status').textContent).toBe('Ending maintenance failed: Warden is not reachable');
    expect(lines()).toHaveLength(1);
  });

  it('an older server without maintenance windows (404): no banner, no error, no maintenance buttons', async () => {
    app(); // fake-fetch answers 404 for any route it does not know
    await settle();
    expect(screen.getAllByRole('article')).toHaveLength(2);
    expect(banner()).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.queryByRole('button', { name: /Maintenance/ })).toBeNull();
  });

  it('follows the status poll cadence: a window that ended goes at the next poll; an error answer or being offline keeps the last list', async () => {
    let n = 0;
    const { calls } = app({
      'GET /api/maintenance': () => (++n === 1 ? list(win()) : n === 2 ? { status: 503, body: { error: 'x' } } : n === 3 ? new TypeError('offline') : list()),
    });
    await settle();
    expect(gets(calls)).toBe(1);
    expect(banner()).not.toBeNull();
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS - 1));
    expect(gets(calls)).toBe(1);
    await act(async () => vi.advanceTimersByTimeAsync(1));
    expect(gets(calls)).toBe(2);
    expect(banner()).not.toBeNull();
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS));
    expect(banner()).not.toBeNull();
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS));
    expect(gets(calls)).toBe(4);
    expect(banner()).toBeNull();
  });

  it('refetches shortly after an event into or out of paused, not after other events', async () => {
    const { calls } = app({ 'GET /api/maintenance': list() });
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'snapshot', services: [state('redis'), state('rtdetr')], timestamp: 'x' });
    const start = gets(calls);
    ws.receive(event('redis', { status: 'unhealthy' }));
    await act(async () => vi.advanceTimersByTimeAsync(EVENT_REFRESH_DELAY_MS));
    expect(gets(calls)).toBe(start);
    // A window over both: a burst of two paused events, one refetch.
    ws.receive(event('redis', { status: 'paused', message: 'In maintenance until 03:30: probed, never restarted' }));
    ws.receive(event('rtdetr', { status: 'paused', message: 'In maintenance until 03:30: probed, never restarted' }));
    await act(async () => vi.advanceTimersByTimeAsync(EVENT_REFRESH_DELAY_MS));
    expect(gets(calls)).toBe(start + 1);
    ws.receive(event('redis', { status: 'healthy', previous: 'paused' }));
    await act(async () => vi.advanceTimersByTimeAsync(EVENT_REFRESH_DELAY_MS));
    expect(gets(calls)).toBe(start + 2);
  });

  it('only the latest answer counts: a slow poll does not bring back a window just ended', async () => {
    const pending: ((r: { status: number; body: unknown }) => void)[] = [];
    app({ 'GET /api/maintenance': () => new Promise((resolve) => pending.push(resolve)) });
    await settle();
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS));
    expect(pending).toHaveLength(2);
    await act(async () => pending[1]!(list()));
    await act(async () => pending[0]!(list(win())));
    expect(banner()).toBeNull();
  });

  it('stays on top of the settings page', async () => {
    window.location.hash = '#/settings';
    app({ 'GET /api/maintenance': list(win({ services: null })) });
    await settle();
    expect(screen.getByRole('heading', { name: 'Settings' })).toBeTruthy();
    expect(lines()).toEqual(['Maintenance until 03:30 — all services (driver update)']);
  });
});

describe('maintenance buttons', () => {
  it('"Maintenance for all, 30 min" in the header POSTs {minutes: 30}, confirms, and the banner appears', async () => {
    let windows: MaintenanceWindow[] = [];
    const { calls } = app({
      'GET /api/maintenance': () => list(...windows),
      'POST /api/maintenance': () => {
        windows = [win({ services: null, reason: null })];
        return { status: 201, body: { ok: true, window: windows[0] } };
      },
    });
    await settle();
    expect(banner()).toBeNull();
    const head = document.querySelector('.dashboard__head') as HTMLElement;
    fireEvent.click(within(head).getByRole('button', { name: 'Maintenance for all, 30 min' }));
    await settle();
    expect(calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.body])).toEqual([['/api/maintenance', { minutes: 30 }]]);
    expect(within(head).getByRole('status').textContent).toBe('All services in maintenance for 30 min');
    expect(lines()).toEqual(['Maintenance until 03:30 — all services']);
  });

  it('the header button says what failed', async () => {
    app({ 'GET /api/maintenance': list(), 'POST /api/maintenance': { status: 400, body: { error: 'minutes must be more than 0' } } });
    await settle();
    const head = document.querySelector('.dashboard__head') as HTMLElement;
    fireEvent.click(within(head).getByRole('button', { name: 'Maintenance for all, 30 min' }));
    await settle();
    const status = within(head).getByRole('status');
    expect(status.textContent).toBe('minutes must be more than 0');
    expect(status.className).toContain('action-feedback--error');
  });

  it('a card\'s "Maintenance 30 min" POSTs its own service and refetches the list; its end time shows on the card from the poll', async () => {
    let windows: MaintenanceWindow[] = [];
    let services = STATUS.body.services;
    const { calls } = app({
      'GET /api/status': () => ({ status: 200, body: { services, timestamp: 'x' } }),
      'GET /api/maintenance': () => list(...windows),
      'POST /api/maintenance': () => {
        windows = [win({ services: ['rtdetr'], reason: null })];
        services = [state('redis'), state('rtdetr', { status: 'paused', timestamp: '2025-12-26T03:00:00.000Z', maintenanceUntil: UNTIL })];
        return { status: 201, body: { ok: true, window: windows[0] } };
      },
    });
    await settle();
    const card = screen.getByRole('article', { name: 'rtdetr' });
    expect(within(card).queryByTestId('maintenance')).toBeNull();
    fireEvent.click(within(card).getByRole('button', { name: 'Maintenance 30 min' }));
    await settle();
    expect(calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.body])).toEqual([['/api/maintenance', { services: ['rtdetr'], minutes: 30 }]]);
    expect(lines()).toEqual(['Maintenance until 03:30 — rtdetr']);
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS));
    expect(within(screen.getByRole('article', { name: 'rtdetr' })).getByTestId('maintenance').textContent).toBe('In maintenance until 03:30');
  });
});
