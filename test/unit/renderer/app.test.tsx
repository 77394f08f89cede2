import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { App } from '../../../src-renderer/App.js';
import { EVENT_REFRESH_DELAY_MS, STATUS_REFRESH_MS } from '../../../src-renderer/components/dashboard/Dashboard.js';
import { FakeWebSocket, FakeWebSocketFactory } from './fake-websocket.js';
import { event, state } from './fixtures.js';
import { fakeFetch } from './fake-fetch.js';
import { freshAppEachTest, renderApp, settle, STATUS, tokenEnv, UPTIME } from './render-app.js';

const app = renderApp;

describe('App', () => {
  freshAppEachTest();

  it('without a token it explains how to open the dashboard and connects nowhere', async () => {
    app({}, tokenEnv(null));
    await settle();
    expect(screen.getByRole('heading', { name: 'No access token' })).toBeTruthy();
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it('shows a standing config problem from the snapshot and from config notices, and hides it once the file is applied', async () => {
    app();
    await settle();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'snapshot', services: [state('redis')], timestamp: 'x', configProblem: 'config.json: healthCheckInterval: must be greater than 0 (seconds)' });
    expect(screen.getByText('config.json: healthCheckInterval: must be greater than 0 (seconds)')).toBeTruthy();
    expect(screen.getByText('The settings file on disk cannot be used')).toBeTruthy();
    ws.receive({ type: 'config', status: 'applied', message: 'config.json changed on disk: applied', timestamp: 'x' });
    expect(screen.queryByText('The settings file on disk cannot be used')).toBeNull();
    ws.receive({ type: 'config', status: 'invalid', message: 'config.json: (file): not valid JSON', timestamp: 'x' });
    expect(screen.getByText('config.json: (file): not valid JSON')).toBeTruthy();
    // A fresh snapshot without a problem (reconnected after a fix): gone.
    ws.receive({ type: 'snapshot', services: [state('redis')], timestamp: 'y' });
    expect(screen.queryByText('The settings file on disk cannot be used')).toBeNull();
  });

  it('a failing token bridge counts as no token', async () => {
    app({}, { ...tokenEnv(null), bridge: { getToken: () => Promise.reject(new Error('no ipc')) } });
    await settle();
    expect(screen.getByRole('heading', { name: 'No access token' })).toBeTruthy();
  });

  it('shows "connecting", then a card per service from the snapshot, and the worst status in the title', async () => {
    app();
    await settle();
    expect(screen.getByText('Connecting to Warden…').getAttribute('role')).toBe('status');
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive({ type: 'snapshot', services: [state('redis'), state('rtdetr')], timestamp: 'x' });
    expect(screen.queryByText('Connecting to Warden…')).toBeNull();
    expect(screen.getAllByRole('article').map((a) => a.dataset.service)).toEqual(['redis', 'rtdetr']);
    expect(document.title).toBe('Warden — no problems');

    ws.receive(event('rtdetr', { status: 'restarting', message: 'Attempting restart (attempt 1/3)', attempt: 1 }));
    expect(document.title).toBe('⚠ Warden — 1 problem');
    const alert = screen.getByRole('alert');
    expect(alert.textContent).toContain('Attempting restart (attempt 1/3)');
    // The banner sits above the page, in the layout.
    expect(alert.compareDocumentPosition(document.querySelector('main')!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
  });

  it('shows a grey "Disconnected — reconnecting…" strip when the connection drops', async () => {
    app();
    await settle();
    FakeWebSocket.last.open();
    FakeWebSocket.last.drop();
    expect(screen.getByText('Disconnected — reconnecting…').getAttribute('role')).toBe('status');
  });

  it('polls /api/status every 10 s and soon after each status event', async () => {
    const { calls } = app();
    await settle();
    const polls = () => calls.filter((c) => c.path === '/api/status').length;
    expect(polls()).toBe(1);
    expect(calls[0]!.headers.Authorization).toBe('Bearer tok');
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS));
    expect(polls()).toBe(2);
    FakeWebSocket.last.receive({ type: 'snapshot', services: [state('redis')], timestamp: 'x' });
    FakeWebSocket.last.receive(event('redis'));
    await act(async () => vi.advanceTimersByTimeAsync(EVENT_REFRESH_DELAY_MS));
    expect(polls()).toBe(3);
  });

  it('fills the cards from the poll even before the WebSocket has said anything', async () => {
    app();
    await settle();
    expect(screen.getAllByRole('article')).toHaveLength(2);
  });

  it('shows "Simulate crash" when the server says it runs the demo', async () => {
    app({ 'GET /api/status': { status: 200, body: { ...STATUS.body, demo: true } } });
    await settle();
    expect(screen.getAllByRole('button', { name: 'Simulate crash' })).toHaveLength(2);
  });

  it('says when the token is refused, or the status cannot be read', async () => {
    app({ 'GET /api/status': { status: 401, body: { error: 'invalid token' } } });
    await settle();
    expect(screen.getByRole('alert').textContent).toMatch(/token was refused/);
    cleanup();
    let n = 0;
    app({ 'GET /api/status': () => (++n === 1 ? { status: 500 } : n === 2 ? new TypeError('offline') : { status: 200, body: { services: 'bad', timestamp: 'x' } }) });
    await settle();
    expect(screen.getByRole('alert').textContent).toBe('Could not refresh the status (HTTP 500).');
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS));
    expect(screen.getByRole('alert').textContent).toBe('Could not refresh the status (HTTP 500).');
    await act(async () => vi.advanceTimersByTimeAsync(STATUS_REFRESH_MS));
    expect(screen.queryByRole('alert')).toBeNull();
    expect(screen.getByText('Waiting for the first status from Warden…')).toBeTruthy();
  });

  it('#/settings shows the settings page, with the banner still on top', async () => {
    window.location.hash = '#/settings';
    app();
    await settle();
    expect(screen.getByRole('heading', { name: 'Settings' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Settings' }).getAttribute('aria-current')).toBe('page');
    FakeWebSocket.last.receive({ type: 'snapshot', services: [state('redis', { status: 'failed' })], timestamp: 'x' });
    expect(screen.getByRole('alert').dataset.severity).toBe('error');

    act(() => {
      window.location.hash = '#/';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    expect(screen.getByRole('heading', { name: 'Services' })).toBeTruthy();
    expect(screen.getByRole('link', { name: 'Dashboard' }).getAttribute('aria-current')).toBe('page');
  });

  it('in a plain browser it reads the token from the real address bar and calls the real fetch', async () => {
    const f = fakeFetch({ 'GET /api/status': STATUS, 'GET /api/services/redis/uptime': UPTIME, 'GET /api/services/rtdetr/uptime': UPTIME });
    vi.stubGlobal('fetch', f.fetch);
    try {
      window.history.replaceState(null, '', '/#token=from-url');
      render(<App WebSocketImpl={FakeWebSocketFactory} />);
      await settle();
      expect(window.location.hash).toBe('');
      expect(window.sessionStorage.getItem('warden.token')).toBe('from-url');
      expect(f.calls[0]!.headers.Authorization).toBe('Bearer from-url');
      expect(FakeWebSocket.last.protocols).toContain('auth.from-url');
    } finally {
      vi.unstubAllGlobals();
      window.sessionStorage.clear();
    }
  });

  it('the alert can be dismissed from the layout', async () => {
    app();
    await settle();
    FakeWebSocket.last.receive({ type: 'snapshot', services: [state('redis', { status: 'failed' })], timestamp: 'x' });
    fireEvent.click(screen.getByRole('button', { name: 'Dismiss this alert' }));
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
