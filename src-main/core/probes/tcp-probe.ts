import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Probe, ProbeResult, ProbeState } from './probe.js';
import { DeadlineTimers } from './deadline.js';
import { describeNetworkError, probeResult } from './probe-result.js';
import type { TcpTarget } from '../../../src-shared/health-url.js';

/** CONTRACT §2 tcp:// probe: up when a connection is accepted (then closed at once). */
export class TcpProbe implements Probe {
  private closed = false;
  private readonly deadlines: DeadlineTimers;

  constructor(
    private readonly target: TcpTarget,
    timeoutMs: number,
  ) {
    this.deadlines = new DeadlineTimers(timeoutMs);
  }

  /** Opens and closes one connection; never throws. */
  check(signal?: AbortSignal): Promise<ProbeResult> {
    const started = performance.now();
    if (this.closed) return Promise.resolve(probeResult('down', 'probe closed', started));
    return new Promise<ProbeResult>((resolve) => {
      const socket = connect({ host: this.target.host, port: this.target.port });
      // Runs once: connect and error exclude each other, destroy() silences the socket and
      // dispose() the deadline.
      const finish = (state: ProbeState, reason: string): void => {
        deadline.dispose();
        socket.destroy();
        resolve(probeResult(state, reason, started));
      };
      socket.on('connect', () => finish('up', 'connection accepted'));
      socket.on('error', (err) => finish('down', describeNetworkError(err)));
      const deadline = this.deadlines.start(signal, (reason) => finish('down', reason));
    });
  }

  /** Only an idle deadline timer is held between checks; later checks answer down "probe closed". */
  async close(): Promise<void> {
    this.closed = true;
    this.deadlines.close();
  }
}
