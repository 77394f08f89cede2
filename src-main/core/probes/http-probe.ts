import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { connect as connectTls } from 'node:tls';
import type { Probe, ProbeResult } from './probe.js';
import { DeadlineTimers, type Deadline } from './deadline.js';
import { Http1Response, HttpResponseError } from './http1-response.js';
import { describeNetworkError, probeResult } from './probe-result.js';
import { judgeHttpResponse } from './judge-http-response.js';
import { requestTarget } from '../../../src-shared/health-url.js';

/** Bodies beyond this are cut: a health answer is small, and a probe must not buffer a stream. */
export const MAX_HEALTH_BODY_BYTES = 64 * 1024;

/**
 * An idle connection older than this is not reused: under the common 5 s server idle timeout
 * (Node, uvicorn), so a request never races the server closing it (undici's default, kept).
 */
export const KEEP_ALIVE_MS = 4000;

/**
 * Every plain-TCP probe reads into this one buffer: a read is parsed (and what is kept copied)
 * before the next one, so 200 services share 64 KiB instead of a Buffer per read (issue 16).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

interface Check {
  started: number;
  resolve(result: ProbeResult): void;
  deadline: Deadline | null;
  response: Http1Response | null;
  /** Sent on a connection that had carried a request before (a retry on a fresh one is allowed). */
  reused: boolean;
  retried: boolean;
}

/**
 * CONTRACT §2 http:// and https:// probe: one keep-alive HTTP/1.1 connection per probe (so per
 * target), a GET prepared once, checks one at a time on it (a second waits its turn). Each check
 * has a hard total deadline covering its wait, the connect, the headers and the body.
 *
 * A lean client rather than undici or node:http: a health GET needs only a status and a short
 * body, and what a general-purpose client does per request (streams, a Buffer per read, header
 * objects, dispatcher queues) was most of a check's cost at 200 services a second
 * (bench: `npm run bench -- probes`, issue 16).
 */
export class HttpProbe implements Probe {
  private readonly request: Buffer;
  private readonly host: string;
  private readonly port: number;
  private readonly tls: boolean;
  private socket: Socket | null = null;
  /** Has the connection carried a request (a failure before any answer may then be its age, not the server)? */
  private socketUsed = false;
  private idleSince = 0;
  private keepAliveMs = KEEP_ALIVE_MS;
  private current: Check | null = null;
  private readonly waiting: Check[] = [];
  private readonly deadlines: DeadlineTimers;
  private closed = false;

  /** `url` must already be normalised (see normaliseUrl). */
  constructor(
    url: URL,
    timeoutMs: number,
  ) {
    this.deadlines = new DeadlineTimers(timeoutMs);
    this.tls = url.protocol === 'https:';
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port) || (this.tls ? 443 : 80);
    this.request = Buffer.from(
      `GET ${requestTarget(url)} HTTP/1.1\r\nhost: ${url.host}\r\naccept: application/json, text/plain;q=0.9, */*;q=0.5\r\nuser-agent: warden-probe\r\n\r\n`,
      'latin1',
    );
  }

  /** Runs one GET; never throws. */
  check(signal?: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    if (this.closed) return Promise.resolve(probeResult('down', 'probe closed', started));
    return new Promise<ProbeResult>((resolve) => {
      const check: Check = { started, resolve, deadline: null, response: null, reused: false, retried: false };
      // A connect that hangs (SYN dropped) or a server that never answers: the deadline settles the check by itself.
      check.deadline = this.deadlines.start(signal, (reason) => this.giveUp(check, reason));
      this.waiting.push(check);
      if (!this.current) this.next();
    });
  }

  /** Closes the connection: a check in flight or waiting ends as down "probe closed". */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const pending = [...(this.current ? [this.current] : []), ...this.waiting.splice(0)];
    this.current = null;
    this.drop();
    for (const check of pending) this.settle(check, probeResult('down', 'probe closed', check.started));
    this.deadlines.close();
  }

  /** Starts the next waiting check, if none is in flight. */
  private next(): void {
    const check = this.waiting.shift();
    if (!check) return;
    this.current = check;
    this.send(check);
  }

  private send(check: Check): void {
    if (this.socket && performance.now() - this.idleSince > this.keepAliveMs) this.drop();
    if (!this.socket) this.open();
    check.reused = this.socketUsed;
    check.response = new Http1Response(MAX_HEALTH_BODY_BYTES);
    this.socketUsed = true;
    this.socket!.ref();
    this.socket!.write(this.request);
  }

  private open(): void {
    const socket: Socket = this.tls
      ? connectTls({ host: this.host, port: this.port, servername: isIP(this.host) ? undefined : this.host, ALPNProtocols: ['http/1.1'] })
      : connectTcp({ host: this.host, port: this.port, noDelay: true, onread: { buffer: READ_BUFFER, callback: (n: number): boolean => this.onBytes(socket, READ_BUFFER, n) } });
    if (this.tls) socket.on('data', (chunk: Buffer) => this.onBytes(socket, chunk, chunk.length));
    let error: Error | null = null;
    socket.on('error', (err: Error) => (error ??= err));
    socket.on('close', () => this.onClosed(socket, error));
    this.socket = socket;
    this.socketUsed = false;
    this.keepAliveMs = KEEP_ALIVE_MS;
  }

  /** Drops the connection (its close event, when it comes, is ignored). */
  private drop(): void {
    const socket = this.socket;
    this.socket = null;
    socket?.destroy();
  }

  private onBytes(socket: Socket, buf: Buffer, n: number): boolean {
    if (socket !== this.socket) return true;
    const check = this.current;
    if (!check) {
      // Bytes nobody asked for, on an idle connection: it is not fit to carry the next request.
      this.drop();
      return true;
    }
    let complete: boolean;
    try {
      complete = check.response!.feed(buf, 0, n);
    } catch (err) {
      this.drop();
      this.finish(check, probeResult('down', `bad HTTP response: ${(err as HttpResponseError).message}`, check.started));
      return true;
    }
    if (complete) this.answered(check);
    return true;
  }

  private onClosed(socket: Socket, error: Error | null): void {
    if (socket !== this.socket) return;
    this.socket = null;
    const check = this.current;
    if (!check) return;
    const response = check.response!;
    // A body read to the end is whole only when the connection ended cleanly (a reset cuts it short).
    if (error === null && response.finishOnEof()) return this.answered(check);
    // A kept-alive connection the server closed as we used it: once more on a fresh one (GET is idempotent).
    if (check.reused && !response.started && !check.retried) {
      check.retried = true;
      return this.send(check);
    }
    this.finish(check, probeResult('down', error ? describeNetworkError(error) : 'connection reset', check.started));
  }

  private answered(check: Check): void {
    const response = check.response!;
    if (!response.keepAlive) this.drop();
    else {
      // An idle connection never keeps the process alive (as undici's did not).
      this.socket?.unref();
      this.idleSince = performance.now();
      // A server that says it closes idle connections sooner than our limit: leave them a second earlier.
      if (response.keepAliveHintMs !== null) this.keepAliveMs = Math.min(KEEP_ALIVE_MS, response.keepAliveHintMs - 1000);
    }
    const verdict = judgeHttpResponse(response.statusCode, response.body);
    this.finish(check, probeResult(verdict.state, verdict.reason, check.started));
  }

  /** The check in flight is over: the next one may start. */
  private finish(check: Check, result: ProbeResult): void {
    this.current = null;
    this.settle(check, result);
    if (!this.closed) this.next();
  }

  /** Its deadline ran out or its caller aborted: a check in flight takes its connection with it. */
  private giveUp(check: Check, reason: string): void {
    check.deadline = null; // already disposed by its expiry
    if (this.current === check) {
      this.drop();
      this.finish(check, probeResult('down', reason, check.started));
      return;
    }
    const at = this.waiting.indexOf(check);
    if (at >= 0) this.waiting.splice(at, 1);
    this.settle(check, probeResult('down', reason, check.started));
  }

  private settle(check: Check, result: ProbeResult): void {
    check.deadline?.dispose();
    check.deadline = null;
    check.resolve(result);
  }
}
