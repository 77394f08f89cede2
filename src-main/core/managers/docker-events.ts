import { EventEmitter } from 'node:events';
import type Dockerode from 'dockerode';
import { load } from '../lazy-modules.js';
import { CONTAINER_ACTIONS, DockerEventParser, RecentKeys, nanoToSince, type ContainerEvent } from './docker-event-parser.js';

export type { ContainerEvent, ContainerAction, ContainerHealth } from './docker-event-parser.js';

/** What a DockerEventWatcher emits. */
export interface DockerEventWatcherEvents {
  event: [ContainerEvent];
  connected: [];
  disconnected: [Error | undefined];
}

/** Options for a DockerEventWatcher. */
export interface DockerEventWatcherOptions {
  /** Default: `new Dockerode()` (DOCKER_HOST or /var/run/docker.sock). */
  docker?: Dockerode;
  /** First reconnect delay in ms (doubles per failure). */
  minBackoffMs?: number;
  /** Longest reconnect delay in ms. */
  maxBackoffMs?: number;
}

/** How many recent event keys are remembered to drop the ones a `since` replay repeats. */
const SEEN_LIMIT = 1024;

/**
 * Follows the Docker event stream for container life-cycle events so a crash is seen at once,
 * not at the next probe. Survives daemon restarts: on end/error it reconnects with backoff and
 * asks for everything `since` the last event it saw, emitting each event once.
 */
export class DockerEventWatcher extends EventEmitter<DockerEventWatcherEvents> {
  private readonly docker: Dockerode;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;
  private running = false;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private abort: AbortController | undefined;
  private stream: NodeJS.ReadableStream | undefined;
  /** Exact timeNano of the newest event seen, or the first connect time: where a replay starts. */
  private resumeFrom: string | undefined;
  private readonly seen = new RecentKeys(SEEN_LIMIT);

  constructor(options: DockerEventWatcherOptions = {}) {
    super();
    this.docker = options.docker ?? new (load.dockerode())();
    this.minBackoffMs = options.minBackoffMs ?? 250;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.backoffMs = this.minBackoffMs;
  }

  /** True while a stream is open. */
  get connected(): boolean {
    return this.stream !== undefined;
  }

  /** Begin watching; a daemon that is down is retried until stop(). */
  start(): void {
    if (this.running) return;
    this.running = true;
    void this.connect();
  }

  /** Stop watching: closes the stream, cancels any retry. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.abort?.abort();
    this.abort = undefined;
    this.dropStream();
  }

  private async connect(): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    const since = this.resumeFrom;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.getEvents({
        // Docker matches "health_status" against "health_status: <state>" by prefix.
        filters: JSON.stringify({ type: ['container'], event: CONTAINER_ACTIONS }),
        // Docker reads "seconds.nanoseconds"; the typings only know numbers.
        ...(since !== undefined ? { since: nanoToSince(since) as unknown as number } : {}),
        abortSignal: abort.signal,
      });
    } catch (err) {
      this.onLost(abort, err as Error);
      return;
    }
    /* v8 ignore next 4 -- stop() landed between the response and this line: a race no test can aim at */
    if (abort.signal.aborted) {
      destroy(stream);
      return;
    }
    this.stream = stream;
    this.backoffMs = this.minBackoffMs;
    // Before any event arrives, a replay after a drop starts where this connection began.
    this.resumeFrom ??= `${BigInt(Date.now()) * 1_000_000n}`;
    const parser = new DockerEventParser();
    stream.on('data', (chunk: Buffer | string) => {
      for (const event of parser.push(chunk)) this.deliver(event);
    });
    let lost = false;
    const onEnd = (err?: Error) => {
      if (lost) return;
      lost = true;
      parser.reset();
      this.onLost(abort, err);
    };
    stream.once('end', () => onEnd());
    stream.once('close', () => onEnd());
    stream.once('error', (err) => onEnd(err));
    this.emit('connected');
  }

  private deliver(event: ContainerEvent): void {
    // A `since` replay starts at (and so repeats) the newest event already delivered.
    if (!this.seen.add(`${event.timeNano}:${event.id}:${event.kind}:${event.health ?? ''}`)) return;
    this.resumeFrom = event.timeNano; // Docker sends events in time order
    this.emit('event', event);
  }

  /** A connection attempt failed or an open stream ended: schedule the next try. */
  private onLost(abort: AbortController, err: Error | undefined): void {
    if (this.abort !== abort) return; // a stale connection
    this.dropStream();
    this.emit('disconnected', err);
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxBackoffMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, wait);
    this.retryTimer.unref();
  }

  private dropStream(): void {
    if (this.stream) destroy(this.stream);
    this.stream = undefined;
  }
}

/**
 * The life-cycle events of one container that the daemon records in [since, until] (epoch ms,
 * `until` may be in the future: the daemon holds the stream open until then), each handed to
 * `onEvent` in order. Ends when the daemon closes the stream at `until`, when `onEvent` returns
 * true (what was waited for came), or when `signal` aborts. For catching up when the live stream
 * may not have delivered an event yet.
 */
export async function readContainerEvents(
  docker: Dockerode,
  container: string,
  range: { since: number; until: number },
  onEvent: (event: ContainerEvent) => boolean,
  signal?: AbortSignal,
): Promise<void> {
  const stream = await docker.getEvents({
    filters: JSON.stringify({ type: ['container'], container: [container], event: CONTAINER_ACTIONS }),
    // Docker reads "seconds.fraction"; the typings only know numbers.
    since: (range.since / 1000).toFixed(3) as unknown as number,
    until: (range.until / 1000).toFixed(3) as unknown as number,
    abortSignal: signal,
  });
  const parser = new DockerEventParser();
  await new Promise<void>((resolve) => {
    const finish = () => {
      signal?.removeEventListener('abort', finish);
      destroy(stream);
      resolve();
    };
    if (signal?.aborted) return finish();
    signal?.addEventListener('abort', finish, { once: true });
    stream.on('data', (chunk: Buffer | string) => {
      for (const event of parser.push(chunk)) if (onEvent(event)) return finish();
    });
    stream.once('end', finish);
    stream.once('close', finish);
    stream.once('error', finish);
  });
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
