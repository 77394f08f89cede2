import { act, cleanup, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultWsUrl, SILENCE_MS, useServiceStatus } from '../../../src-renderer/hooks/useServiceStatus.js';
import { FakeWebSocket, FakeWebSocketFactory } from './fake-websocket.js';
import { event, state } from './fixtures.js';

const noJitter = () => 0.5;

function setup(token: string | null = 'tok') {
  return renderHook((props: { token: string | null }) => useServiceStatus({ token: props.token, WebSocketImpl: FakeWebSocketFactory, random: noJitter }), {
    initialProps: { token },
  });
}

const snapshot = (...services: unknown[]) => ({ type: 'snapshot', services, timestamp: '2025-12-26T02:00:00.000Z' });

describe('useServiceStatus', () => {
  beforeEach(() => {
    FakeWebSocket.reset();
    vi.useFakeTimers();
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
  });

  it('connects to /ws on the page host with the warden.v1 and auth.<token> subprotocols', () => {
    setup('s3cret');
    expect(FakeWebSocket.last.url).toBe(`ws://${window.location.host}/ws`);
    expect(FakeWebSocket.last.protocols).toEqual(['warden.v1', 'auth.s3cret']);
  });

  it('uses wss: on an https: page', () => {
    expect(defaultWsUrl({ protocol: 'https:', host: 'example:8765' })).toBe('wss://example:8765/ws');
    expect(defaultWsUrl({ protocol: 'http:', host: '127.0.0.1:1' })).toBe('ws://127.0.0.1:1/ws');
  });

  it('does not connect without a token', () => {
    setup(null);
    expect(FakeWebSocket.instances).toHaveLength(0);
  });

  it('starts connecting, opens, applies the snapshot, then merges events', () => {
    const { result } = setup();
    expect(result.current.connection).toBe('connecting');
    const ws = FakeWebSocket.last;
    ws.open();
    expect(result.current.connection).toBe('open');
    ws.receive(snapshot(state('redis'), state('rtdetr')));
    expect(Object.keys(result.current.states)).toEqual(['redis', 'rtdetr']);
    expect(result.current.hasUnhealthy).toBe(false);
    expect(result.current.services.redis).toEqual({ service: 'redis', status: 'healthy', message: 'Health check passed', timestamp: '2025-12-26T02:00:00.000Z' });

    ws.receive(event('rtdetr', { status: 'restarting', attempt: 1 }));
    expect(result.current.services.rtdetr?.status).toBe('restarting');
    expect(result.current.hasUnhealthy).toBe(true);
    expect(result.current.revision).toBe(1);
  });

  it('ignores heartbeats, junk and unknown message types without crashing', () => {
    const { result } = setup();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive(snapshot(state('a')));
    const before = result.current.states;
    ws.receive({ type: 'heartbeat', timestamp: 'x' });
    ws.receive('not json {');
    ws.receive({ type: 'something_new' });
    ws.receive({ type: 'snapshot' }); // no services: an empty picture, not a crash
    expect(result.current.states).toEqual({});
    ws.receive(snapshot(state('a')));
    expect(result.current.states).toEqual(before);
  });

  it('an event with an unknown status shows the service as unknown', () => {
    const { result } = setup();
    FakeWebSocket.last.receive(snapshot(state('a')));
    FakeWebSocket.last.receive({ ...event('a'), status: 'brand_new_status' });
    expect(result.current.services.a?.status).toBe('unknown');
  });

  it('reconnects after a drop with capped exponential backoff, and resyncs from the new snapshot', () => {
    const { result } = setup();
    const first = FakeWebSocket.last;
    first.open();
    first.receive(snapshot(state('a', { status: 'healthy' })));
    first.drop();
    expect(result.current.connection).toBe('reconnecting');
    expect(first.closed).toBe(true);

    // Attempts at 0.5 s, 1 s, 2 s … each only after its delay.
    const delays = [500, 1000, 2000, 4000, 8000, 15_000, 15_000];
    for (const delay of delays) {
      const count = FakeWebSocket.instances.length;
      act(() => vi.advanceTimersByTime(delay - 1));
      expect(FakeWebSocket.instances).toHaveLength(count);
      act(() => vi.advanceTimersByTime(1));
      expect(FakeWebSocket.instances).toHaveLength(count + 1);
      FakeWebSocket.last.drop();
    }
    // Still showing the last known state while disconnected.
    expect(result.current.states.a?.status).toBe('healthy');

    act(() => vi.advanceTimersByTime(15_000));
    const again = FakeWebSocket.last;
    again.open();
    expect(result.current.connection).toBe('open');
    again.receive(snapshot(state('a', { status: 'failed' }), state('b')));
    expect(result.current.states.a?.status).toBe('failed');
    expect(Object.keys(result.current.states)).toEqual(['a', 'b']);

    // A fresh snapshot resets the backoff to its first step.
    again.drop();
    const count = FakeWebSocket.instances.length;
    act(() => vi.advanceTimersByTime(500));
    expect(FakeWebSocket.instances).toHaveLength(count + 1);
  });

  it('an error counts as a lost connection, once', () => {
    const { result } = setup();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.fail();
    expect(result.current.connection).toBe('reconnecting');
    expect(ws.onclose).toBeNull(); // detached: the close that follows an error is not a second loss
    act(() => vi.advanceTimersByTime(500));
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it('a connection that never opened keeps saying "connecting" while it retries', () => {
    const { result } = setup();
    FakeWebSocket.last.drop();
    expect(result.current.connection).toBe('connecting');
  });

  it('a socket the constructor refuses is retried like any other failure', () => {
    FakeWebSocket.failNext = 1;
    const { result } = setup();
    expect(FakeWebSocket.instances).toHaveLength(0);
    expect(result.current.connection).toBe('connecting');
    act(() => vi.advanceTimersByTime(500));
    expect(FakeWebSocket.instances).toHaveLength(1);
  });

  it('45 s without any message (not even a heartbeat) is a dead connection', () => {
    const { result } = setup();
    const ws = FakeWebSocket.last;
    ws.open();
    ws.receive(snapshot(state('a')));
    act(() => vi.advanceTimersByTime(SILENCE_MS - 1000));
    ws.receive({ type: 'heartbeat', timestamp: 'x' }); // resets the watchdog
    act(() => vi.advanceTimersByTime(SILENCE_MS - 1));
    expect(result.current.connection).toBe('open');
    act(() => vi.advanceTimersByTime(1));
    expect(result.current.connection).toBe('reconnecting');
    expect(ws.closed).toBe(true);
    act(() => vi.advanceTimersByTime(500));
    expect(FakeWebSocket.instances).toHaveLength(2);
  });

  it('polled states are folded in through mergeStatus', () => {
    const { result } = setup();
    FakeWebSocket.last.receive(snapshot(state('a')));
    act(() => result.current.mergeStatus([state('a', { latencyMs: 99, timestamp: '2025-12-26T02:05:00.000Z' })]));
    expect(result.current.states.a?.latencyMs).toBe(99);
  });

  it('unmounting closes the socket and cancels pending retries', () => {
    const { unmount } = setup();
    const ws = FakeWebSocket.last;
    unmount();
    expect(ws.closed).toBe(true);
    expect(ws.onmessage).toBeNull();

    const second = setup();
    FakeWebSocket.last.drop();
    const count = FakeWebSocket.instances.length;
    second.unmount();
    act(() => vi.advanceTimersByTime(60_000));
    expect(FakeWebSocket.instances).toHaveLength(count);
  });

  it('a new token reconnects with it', () => {
    const { rerender } = setup('one');
    const first = FakeWebSocket.last;
    rerender({ token: 'two' });
    expect(first.closed).toBe(true);
    expect(FakeWebSocket.last.protocols).toEqual(['warden.v1', 'auth.two']);
  });

  it('without an injected class it uses the browser WebSocket', () => {
    const seen: string[] = [];
    class Browser extends FakeWebSocket {
      constructor(url: string, protocols: string[]) {
        super(url, protocols);
        seen.push(url);
      }
    }
    vi.stubGlobal('WebSocket', Browser);
    try {
      renderHook(() => useServiceStatus({ token: 't' }));
      expect(seen).toEqual([`ws://${window.location.host}/ws`]);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
