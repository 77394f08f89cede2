import { act } from '@testing-library/react';
import type { WebSocketFactory } from '../../../src-renderer/hooks/useServiceStatus.js';

/**
 * A stand-in for the browser's WebSocket in jsdom unit tests: records what the hook opened and
 * lets the test play the server (open, messages, close). The real socket is covered end to end
 * in test/e2e against the real server.
 */
export class FakeWebSocket {
  static instances: FakeWebSocket[] = [];
  static failNext = 0;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  closed = false;

  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    if (FakeWebSocket.failNext > 0) {
      FakeWebSocket.failNext--;
      throw new SyntaxError('bad url');
    }
    FakeWebSocket.instances.push(this);
  }

  static reset(): void {
    FakeWebSocket.instances = [];
    FakeWebSocket.failNext = 0;
  }

  static get last(): FakeWebSocket {
    const ws = FakeWebSocket.instances.at(-1);
    if (!ws) throw new Error('no socket opened');
    return ws;
  }

  close(): void {
    this.closed = true;
  }

  open(): void {
    act(() => this.onopen?.({}));
  }

  receive(msg: unknown): void {
    act(() => this.onmessage?.({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) }));
  }

  drop(): void {
    act(() => this.onclose?.({}));
  }

  fail(): void {
    act(() => this.onerror?.({}));
  }
}

export const FakeWebSocketFactory = FakeWebSocket as unknown as WebSocketFactory;
