import { describe, expect, it } from 'vitest';
import { DockerEventParser, RecentKeys, nanoToMillis, nanoToSince, toContainerEvent } from '../../../src-main/core/managers/docker-event-parser.js';

/** A /events line as dockerd 20.10 writes it. */
function line(action: string, attributes: Record<string, string> = {}, timeNano = '1732800000123456789', id = 'abc123'): string {
  return (
    JSON.stringify({
      status: action,
      id,
      from: 'warden-test/busybox-web:1',
      Type: 'container',
      Action: action,
      Actor: { ID: id, Attributes: { image: 'warden-test/busybox-web:1', name: 'web', ...attributes } },
      scope: 'local',
      time: Math.floor(Number(timeNano) / 1e9),
      timeNano: 0,
    }).replace('"timeNano":0', `"timeNano":${timeNano}`) + '\n'
  );
}

describe('DockerEventParser', () => {
  it('emits one event per complete line and keeps a half line for the next chunk', () => {
    const parser = new DockerEventParser();
    const text = line('die', { exitCode: '137' });
    const cut = 40;
    expect(parser.push(text.slice(0, cut))).toEqual([]);
    const events = parser.push(text.slice(cut));
    expect(events).toEqual([
      { kind: 'die', container: 'web', id: 'abc123', exitCode: 137, time: 1732800000123.4568, timeNano: '1732800000123456789' },
    ]);
  });

  it('splits a chunk that holds several events, in order', () => {
    const parser = new DockerEventParser();
    const events = parser.push(line('kill', { signal: '9' }, '1000000001000000000') + line('die', { exitCode: '137' }, '1000000002000000000') + line('stop', {}, '1000000003000000000'));
    expect(events.map((e) => e.kind)).toEqual(['kill', 'die', 'stop']);
    expect(events[0]?.signal).toBe('9');
  });

  it('reassembles a multi-byte character split between chunks', () => {
    const parser = new DockerEventParser();
    const bytes = Buffer.from(line('start', { name: 'wéb' }));
    const at = bytes.indexOf(Buffer.from('é')) + 1; // inside the two-byte é
    expect(parser.push(bytes.subarray(0, at))).toEqual([]);
    expect(parser.push(bytes.subarray(at))[0]?.container).toBe('wéb');
  });

  it('skips garbage lines and counts them, without losing the events around them', () => {
    const parser = new DockerEventParser();
    const events = parser.push(`${line('start')}not json at all\n{"half":\n\n${line('restart')}`);
    expect(events.map((e) => e.kind)).toEqual(['start', 'restart']);
    expect(parser.garbageLines).toBe(2);
  });

  it('reads the health state out of "health_status: <state>"', () => {
    const parser = new DockerEventParser();
    const [unhealthy, healthy, odd] = parser.push(line('health_status: unhealthy') + line('health_status: healthy') + line('health_status: weird'));
    expect(unhealthy).toMatchObject({ kind: 'health_status', health: 'unhealthy' });
    expect(healthy).toMatchObject({ kind: 'health_status', health: 'healthy' });
    expect(odd).toMatchObject({ kind: 'health_status' });
    expect(odd?.health).toBeUndefined();
  });

  it('keeps the exact 19-digit timeNano that JSON.parse would round', () => {
    const parser = new DockerEventParser();
    const [event] = parser.push(line('oom', {}, '1732800000123456789'));
    expect(event?.timeNano).toBe('1732800000123456789');
    expect(String(JSON.parse('1732800000123456789'))).not.toBe('1732800000123456789');
  });

  it('ignores actions and types it does not watch', () => {
    const parser = new DockerEventParser();
    const image = JSON.stringify({ Type: 'image', Action: 'pull', Actor: { ID: 'x', Attributes: {} }, timeNano: 1 });
    expect(parser.push(`${line('exec_start: sh')}${line('attach')}${image}\n`)).toEqual([]);
    expect(parser.garbageLines).toBe(0);
  });

  it('forgets a half line when reset (the stream it belonged to is gone)', () => {
    const parser = new DockerEventParser();
    parser.push(line('die').slice(0, 30));
    parser.reset();
    expect(parser.push(line('start')).map((e) => e.kind)).toEqual(['start']);
  });

  it('accepts string chunks too', () => {
    expect(new DockerEventParser().push(line('start'))).toHaveLength(1);
  });
});

describe('toContainerEvent', () => {
  it('rejects non-objects and events without an actor id or name', () => {
    expect(toContainerEvent(null)).toBeNull();
    expect(toContainerEvent('die')).toBeNull();
    expect(toContainerEvent({ Type: 'container', Action: 42 })).toBeNull();
    expect(toContainerEvent({ Type: 'container', Action: 'die', Actor: {} })).toBeNull();
    expect(toContainerEvent({ Type: 'container', Action: 'die' })).toBeNull();
  });

  it('strips a leading slash from the name and tolerates a missing or odd exitCode', () => {
    const event = toContainerEvent({ Type: 'container', Action: 'die', Actor: { ID: 1, Attributes: { name: '/web', exitCode: 'n/a' } }, time: 2 });
    expect(event).toMatchObject({ kind: 'die', container: 'web', id: '', timeNano: '2000000000', time: 2000 });
    expect(event?.exitCode).toBeUndefined();
  });

  it('falls back to time 0 when the message has no timestamp', () => {
    expect(toContainerEvent({ Type: 'container', Action: 'kill', Actor: { ID: 'x', Attributes: { name: 5, signal: 9 } } })).toEqual({
      kind: 'kill',
      container: '',
      id: 'x',
      time: 0,
      timeNano: '0',
    });
  });
});

describe('timestamps', () => {
  it('converts nanoseconds to milliseconds and to Docker\'s "seconds.nanoseconds" since', () => {
    expect(nanoToMillis('1732800000123456789')).toBe(1732800000123.4568);
    expect(nanoToMillis('5')).toBe(0.000005);
    expect(nanoToSince('1732800000123456789')).toBe('1732800000.123456789');
    expect(nanoToSince('5')).toBe('0.000000005');
  });
});

describe('RecentKeys', () => {
  it('reports a repeated key once and forgets the oldest beyond its limit', () => {
    const keys = new RecentKeys(2);
    expect(keys.add('a')).toBe(true);
    expect(keys.add('a')).toBe(false);
    expect(keys.add('b')).toBe(true);
    expect(keys.add('c')).toBe(true); // pushes out 'a'
    expect(keys.add('b')).toBe(false);
    expect(keys.add('a')).toBe(true);
  });
});
