import { performance } from 'node:perf_hooks';
import { Client, type Dispatcher } from 'undici';
import type { Probe, ProbeResult } from '../../src-main/core/probes/probe.js';
import { startDeadline } from '../../src-main/core/probes/deadline.js';
import { describeNetworkError, probeResult } from '../../src-main/core/probes/probe-result.js';
import { judgeHttpResponse } from '../../src-main/core/probes/judge-http-response.js';
import { requestTarget } from '../../src-shared/health-url.js';

const MAX_HEALTH_BODY_BYTES = 64 * 1024;

const HEADERS = { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', 'user-agent': 'warden-probe' };

/**
 * Warden's HTTP probe until issue 16, kept here as a baseline: one keep-alive undici Client per
 * target and `Client.dispatch` with a handler that collects the status and at most 64 KiB of body
 * without a stream. Same deadline and verdict as src-main's HttpProbe.
 */
export class UndiciDispatchProbe implements Probe {
  private readonly client: Client;
  private readonly options: Dispatcher.DispatchOptions;
  private closed = false;

  /** `url` must already be normalised (see normaliseUrl). */
  constructor(
    url: URL,
    private readonly timeoutMs: number,
  ) {
    this.options = { path: requestTarget(url), method: 'GET', headers: HEADERS };
    // One connection per target is plenty for a health check; a Pool would open a second socket
    // whenever a check starts before undici has marked the last response complete.
    this.client = new Client(url.origin, {
      // Our own deadline is the real limit; undici's timers are only a backstop behind it.
      connect: { timeout: timeoutMs + 1000 },
      headersTimeout: timeoutMs + 1000,
      bodyTimeout: timeoutMs + 1000,
      // keepAliveTimeout stays at undici's 4 s, under the common 5 s server idle timeout
      // (Node, uvicorn): reusing a socket the server is closing would read as "connection reset".
    });
  }

  /** Runs one GET; never throws. */
  check(signal?: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    if (this.closed) return Promise.resolve(probeResult('down', 'probe closed', started));
    return new Promise<ProbeResult>((resolve) => {
      const exchange = new HealthExchange((err, statusCode, body) => {
        deadline.dispose();
        if (err) {
          resolve(probeResult('down', this.closed ? 'probe closed' : describeNetworkError(err), started));
        } else {
          const verdict = judgeHttpResponse(statusCode, body);
          resolve(probeResult(verdict.state, verdict.reason, started));
        }
      });
      // undici only honours an abort once a request owns a socket: a connect that hangs (SYN
      // dropped) would outlive the deadline, so the deadline settles the check by itself.
      const deadline = startDeadline(this.timeoutMs, signal, (reason) => {
        exchange.abort(new Error(reason));
        resolve(probeResult('down', reason, started));
      });
      this.client.dispatch(this.options, exchange);
    });
  }

  /** Destroys the client: its socket closes and an in-flight check ends as down. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.destroy();
  }
}

type Done = (err: Error | null, statusCode: number, body: string) => void;

/**
 * One request's undici handler: collects the status and at most MAX_HEALTH_BODY_BYTES of body
 * without a stream per check (the hot path of 200 services a second). Reading to the end hands
 * the socket back for the next check; a body over the cap is judged on its head and the
 * connection dropped.
 */
class HealthExchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private abortReason: Error | null = null;
  private statusCode = 0;
  private chunks: Buffer[] = [];
  private size = 0;
  private done: Done | null;

  constructor(done: Done) {
    this.done = done;
  }

  /** Gives up: the result is already decided, so finish() is silenced before undici reports the abort. */
  abort(reason: Error): void {
    this.done = null;
    if (this.controller) this.controller.abort(reason);
    else this.abortReason = reason;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortReason) controller.abort(this.abortReason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.statusCode = statusCode;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const room = MAX_HEALTH_BODY_BYTES - this.size;
    this.chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
    this.size += Math.min(chunk.length, room);
    if (this.size >= MAX_HEALTH_BODY_BYTES) {
      this.finish(null);
      controller.abort(new Error('health body over the size cap'));
    }
  }

  onResponseEnd(): void {
    this.finish(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.finish(err);
  }

  private finish(err: Error | null): void {
    const done = this.done;
    if (!done) return;
    this.done = null;
    if (err) return done(err, 0, '');
    const body = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    done(null, this.statusCode, body);
  }
}
