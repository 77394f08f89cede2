import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Probe, ProbeResult } from '../../src-main/core/probes/probe.js';
import { startDeadline } from '../../src-main/core/probes/deadline.js';
import { describeNetworkError, probeResult } from '../../src-main/core/probes/probe-result.js';
import { judgeHttpResponse } from '../../src-main/core/probes/judge-http-response.js';
import { requestTarget } from '../../src-shared/health-url.js';

const HEADERS = { accept: 'application/json, text/plain;q=0.9, */*;q=0.5', 'user-agent': 'warden-probe' };

/** undici's documented request path: a Pool of one connection per target, `pool.request()` and `body.text()`. */
export class UndiciPoolProbe implements Probe {
  private readonly pool: Pool;
  private readonly path: string;

  constructor(
    url: URL,
    private readonly timeoutMs: number,
  ) {
    this.pool = new Pool(url.origin, { connections: 1 });
    this.path = requestTarget(url);
  }

  async check(): Promise<ProbeResult> {
    const started = performance.now();
    try {
      const res = await this.pool.request({ path: this.path, method: 'GET', headers: HEADERS, signal: AbortSignal.timeout(this.timeoutMs) });
      const body = await res.body.text();
      const verdict = judgeHttpResponse(res.statusCode, body);
      return probeResult(verdict.state, verdict.reason, started);
    } catch (err) {
      return probeResult('down', describeNetworkError(err), started);
    }
  }

  close(): Promise<void> {
    return this.pool.destroy();
  }
}

/** node:http with a keep-alive Agent of one socket per target (what the bare client in bench/footprint uses). */
export class NodeHttpProbe implements Probe {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly options: http.RequestOptions;

  constructor(
    url: URL,
    private readonly timeoutMs: number,
  ) {
    this.options = { host: url.hostname, port: url.port, path: requestTarget(url), headers: HEADERS, agent: this.agent };
  }

  check(): Promise<ProbeResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      const req = http.get(this.options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          deadline.dispose();
          const verdict = judgeHttpResponse(res.statusCode ?? 0, body);
          resolve(probeResult(verdict.state, verdict.reason, started));
        });
      });
      req.on('error', (err) => {
        deadline.dispose();
        resolve(probeResult('down', describeNetworkError(err), started));
      });
      const deadline = startDeadline(this.timeoutMs, undefined, (reason) => {
        req.destroy();
        resolve(probeResult('down', reason, started));
      });
    });
  }

  close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }
}
