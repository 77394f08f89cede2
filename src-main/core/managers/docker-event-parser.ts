import { StringDecoder } from 'node:string_decoder';

/** The container actions Warden listens for on the Docker event stream. */
export const CONTAINER_ACTIONS = ['die', 'oom', 'health_status', 'stop', 'start', 'restart', 'kill'] as const;
export type ContainerAction = (typeof CONTAINER_ACTIONS)[number];

/** Docker's HEALTHCHECK states. */
export type ContainerHealth = 'healthy' | 'unhealthy' | 'starting';

/** One container event, reduced to what the monitor needs. */
export interface ContainerEvent {
  kind: ContainerAction;
  /** Container name (Actor.Attributes.name), without the leading slash. */
  container: string;
  /** Full container id. */
  id: string;
  /** Exit code of the main process (die events). */
  exitCode?: number;
  /** New health state (health_status events). */
  health?: ContainerHealth;
  /** Signal sent (kill events), e.g. "9" or "15". */
  signal?: string;
  /** When Docker recorded it, in epoch milliseconds (sub-millisecond fraction kept). */
  time: number;
  /** The exact nanosecond timestamp as Docker sent it: a JSON number wider than a double. */
  timeNano: string;
}

const HEALTH_STATES = new Set<string>(['healthy', 'unhealthy', 'starting']);
const ACTIONS = new Set<string>(CONTAINER_ACTIONS);

/**
 * Splits Docker's /events response (newline-delimited JSON, chunked arbitrarily by HTTP) into
 * container events. A line may span chunks and one chunk may hold many lines; lines that are not
 * JSON, or not a container event Warden cares about, are skipped.
 */
export class DockerEventParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffered = '';
  /** Lines that could not be parsed as JSON (for diagnostics). */
  garbageLines = 0;

  /** Feed one chunk; returns the complete events it finished. */
  push(chunk: Buffer | string): ContainerEvent[] {
    this.buffered += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop() as string; // split() always returns at least one element
    const events: ContainerEvent[] = [];
    for (const line of lines) {
      const event = this.parseLine(line);
      if (event) events.push(event);
    }
    return events;
  }

  /** Drop any half line (the stream it came from has ended). */
  reset(): void {
    this.buffered = '';
    this.decoder.end();
  }

  private parseLine(line: string): ContainerEvent | null {
    const text = line.trim();
    if (text === '') return null;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.garbageLines++;
      return null;
    }
    // JSON.parse rounds the 19-digit timeNano to a double: read the exact digits from the text.
    const timeNano = /"timeNano"\s*:\s*(\d+)/.exec(text)?.[1];
    return toContainerEvent(raw, timeNano);
  }
}

interface RawEvent {
  Type?: unknown;
  Action?: unknown;
  Actor?: { ID?: unknown; Attributes?: Record<string, unknown> };
  time?: unknown;
}

/** Convert one decoded Docker event message; null when it is not a container event we watch. */
export function toContainerEvent(raw: unknown, exactTimeNano?: string): ContainerEvent | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const msg = raw as RawEvent;
  if (msg.Type !== 'container' || typeof msg.Action !== 'string') return null;
  // health_status arrives as "health_status: unhealthy"
  const [action = '', detail] = msg.Action.split(/:\s*/, 2);
  if (!ACTIONS.has(action)) return null;
  const attributes = msg.Actor?.Attributes ?? {};
  const id = typeof msg.Actor?.ID === 'string' ? msg.Actor.ID : '';
  const name = typeof attributes['name'] === 'string' ? attributes['name'].replace(/^\//, '') : '';
  if (!id && !name) return null;
  const timeNano = exactTimeNano ?? (typeof msg.time === 'number' ? String(msg.time * 1e9) : '0');
  const event: ContainerEvent = {
    kind: action as ContainerAction,
    container: name,
    id,
    time: nanoToMillis(timeNano),
    timeNano,
  };
  if (action === 'die') {
    const code = Number.parseInt(String(attributes['exitCode']), 10);
    if (Number.isInteger(code)) event.exitCode = code;
  }
  if (action === 'health_status' && detail !== undefined && HEALTH_STATES.has(detail)) {
    event.health = detail as ContainerHealth;
  }
  if (action === 'kill' && typeof attributes['signal'] === 'string') event.signal = attributes['signal'];
  return event;
}

/** "1732800000123456789" → 1732800000123.4568 (ms). */
export function nanoToMillis(timeNano: string): number {
  const padded = timeNano.padStart(7, '0');
  return Number(`${padded.slice(0, -6)}.${padded.slice(-6)}`);
}

/** Docker's `since` parameter for a nanosecond timestamp: "seconds.nanoseconds". */
export function nanoToSince(timeNano: string): string {
  const padded = timeNano.padStart(10, '0');
  return `${padded.slice(0, -9)}.${padded.slice(-9)}`;
}

/** A bounded set of recently seen keys (oldest forgotten first). */
export class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly limit: number) {}

  /** Remember key; false if it was already there. */
  add(key: string): boolean {
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    if (this.keys.size > this.limit) {
      const oldest = this.keys.values().next().value as string;
      this.keys.delete(oldest);
    }
    return true;
  }
}
