import { act, cleanup, render } from '@testing-library/react';
import { afterEach, beforeEach, vi } from 'vitest';
import { App } from '../../../src-renderer/App.js';
import type { TokenEnv } from '../../../src-renderer/api/token.js';
import { defaultConfig } from '../../../src-shared/config-schema.js';
import { fakeFetch } from './fake-fetch.js';
import { FakeWebSocket, FakeWebSocketFactory } from './fake-websocket.js';
import { state } from './fixtures.js';

/** A tab whose sessionStorage holds `token` (null: none). */
export function tokenEnv(token: string | null): TokenEnv {
  return {
    location: { hash: '', pathname: '/', search: '' },
    history: { state: null, replaceState: () => undefined },
    storage: { getItem: () => token, setItem: () => undefined },
  };
}

export const STATUS = { status: 200, body: { services: [state('redis'), state('rtdetr')], timestamp: '2025-12-26T02:00:00.000Z' } };
export const UPTIME = { status: 200, body: { ratio: 1, buckets: Array(24).fill(1) } };

/** The whole dashboard against a fake server: status, uptime and settings answered, `routes` on top. */
export function renderApp(routes: Parameters<typeof fakeFetch>[0] = {}, env = tokenEnv('tok')) {
  const f = fakeFetch({
    'GET /api/status': STATUS,
    'GET /api/services/redis/uptime': UPTIME,
    'GET /api/services/rtdetr/uptime': UPTIME,
    'GET /api/settings': { status: 200, body: defaultConfig() },
    ...routes,
  });
  render(<App tokenEnv={env} WebSocketImpl={FakeWebSocketFactory} fetchImpl={f.fetch} />);
  return f;
}

/** Let the token promise and first fetches settle. */
export const settle = () => act(async () => vi.advanceTimersByTimeAsync(0));

/** Each test of the suite starts on the dashboard with fake timers and no socket, and cleans up after. */
export function freshAppEachTest(): void {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.useFakeTimers();
    window.location.hash = '';
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
    window.location.hash = '';
  });
}
