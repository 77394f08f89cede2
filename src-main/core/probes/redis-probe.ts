import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Probe, ProbeResult, ProbeState } from './probe.js';
import { DeadlineTimers } from './deadline.js';
import { describeNetworkError, probeResult } from './probe-result.js';
import type { RedisTarget } from '../../../src-shared/health-url.js';

/** A reply line longer than this is not Redis answering AUTH/PING: give up on the stream. */
const MAX_REPLY_BYTES = 4096;

/** The check in flight: how many reply lines it waits for, and how to end it. */
interface Exchange {
  expected: number;
  replies: string[];
  finish(state: ProbeState, reason: string): void;
}

/**
 * CONTRACT §2 redis:// probe: a raw RESP client over node:net. One connection is kept open and
 * reused between checks (AUTH once per connection, then PING); it is dropped after any check that
 * is not up/loading, so a late or stray reply can never answer the next PING.
 * Concurrent check() calls are queued: each runs after the previous one ends, with its own deadline.
 */
export class RedisProbe implements Probe {
  private socket: Socket | null = null;
  private connected = false;
  private buffer = '';
  private exchange: Exchange | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly deadlines: DeadlineTimers;

  constructor(
    private readonly target: RedisTarget,
    timeoutMs: number,
  ) {
    this.deadlines = new DeadlineTimers(timeoutMs);
  }

  /** AUTH (on a new connection, when a password is set) then PING; never throws. */
  check(signal?: AbortSignal): Promise<ProbeResult> {
    const result = this.queue.then(() => this.runCheck(signal));
    this.queue = result;
    return result;
  }

  /** Closes the connection; an in-flight check ends as down "probe closed". */
  async close(): Promise<void> {
    this.closed = true;
    this.exchange?.finish('down', 'probe closed');
    this.dropSocket();
    this.deadlines.close();
  }

  private runCheck(signal?: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    if (this.closed) return Promise.resolve(probeResult('down', 'probe closed', started));
    return new Promise<ProbeResult>((resolve) => {
      const exchange: Exchange = {
        expected: 1,
        replies: [],
        // Called once: the deadline is disposed here and socket events only reach this.exchange.
        finish: (state, reason) => {
          this.exchange = null;
          deadline.dispose();
          // Only a clean answer leaves the connection reusable; anything else may leave bytes
          // in flight that would be mistaken for the next check's reply.
          if (state === 'down') this.dropSocket();
          resolve(probeResult(state, reason, started));
        },
      };
      this.exchange = exchange;
      const deadline = this.deadlines.start(signal, (reason) => exchange.finish('down', reason));
      if (this.socket && this.connected) {
        this.socket.write('*1\r\n$4\r\nPING\r\n');
      } else {
        this.openSocket();
      }
    });
  }

  private openSocket(): void {
    this.dropSocket();
    const socket = connect({ host: this.target.host, port: this.target.port });
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    // An idle probe must not keep the process alive; a running check has its own (ref'd) timer.
    socket.unref();
    socket.on('connect', () => {
      this.connected = true;
      const { username, password } = this.target;
      let payload = '*1\r\n$4\r\nPING\r\n';
      if (password !== undefined) {
        const args = username !== undefined ? ['AUTH', username, password] : ['AUTH', password];
        payload = encodeCommand(args) + payload;
        this.exchange!.expected = 2;
      }
      socket.write(payload);
    });
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.exchange?.finish('down', describeNetworkError(err)));
    // The server hung up (restart, idle timeout): the next check reconnects.
    socket.on('close', () => {
      this.dropSocket();
      this.exchange?.finish('down', 'connection closed');
    });
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\r\n')) !== -1) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const exchange = this.exchange;
      if (!exchange) {
        // Nobody asked: the stream is out of step with our requests. Start over next time.
        this.dropSocket();
        return;
      }
      exchange.replies.push(line);
      if (exchange.replies.length === exchange.expected) {
        const verdict = judgeReplies(exchange.replies);
        exchange.finish(verdict.state, verdict.reason);
      }
    }
    if (this.buffer.length > MAX_REPLY_BYTES) {
      this.exchange?.finish('down', 'unexpected reply (not Redis?)');
      this.dropSocket();
    }
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    this.connected = false;
    this.buffer = '';
    if (!socket) return;
    // A dropped socket must never touch a later check: silence it before it goes.
    socket.removeAllListeners();
    socket.on('error', () => {});
    socket.destroy();
  }
}

/** The first error reply decides (AUTH's before PING's); otherwise PING must have said PONG. */
function judgeReplies(replies: string[]): { state: ProbeState; reason: string } {
  for (const reply of replies) {
    if (reply.startsWith('-')) {
      const message = reply.slice(1);
      return { state: message.startsWith('LOADING') ? 'loading' : 'down', reason: message };
    }
  }
  const last = replies[replies.length - 1]!;
  if (last === '+PONG') return { state: 'up', reason: 'PONG' };
  return { state: 'down', reason: `unexpected reply ${JSON.stringify(last.slice(0, 60))}` };
}

/** RESP array of bulk strings (binary-safe for passwords with spaces or CRLF). */
function encodeCommand(args: string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}
