import { describe, expect, it } from 'vitest';
import type { ContainerEvent } from '../../../src-main/core/managers/docker-event-parser.js';
import { StopIntents } from '../../../src-main/core/signals/stop-intents.js';

const event = (kind: ContainerEvent['kind'], time: number, container = 'rtdetr'): ContainerEvent => ({ kind, container, id: 'x', time, timeNano: `${time * 1e6}` });

describe('StopIntents: a deliberate stop is told from a crash by the event stream', () => {
  it('docker stop (kill, die, stop) and docker kill (kill, die) are on purpose; a bare die is a crash', () => {
    const intents = new StopIntents();
    for (const e of [event('kill', 0, 'a'), event('die', 5, 'a'), event('stop', 6, 'a'), event('kill', 0, 'b'), event('die', 5, 'b'), event('die', 5, 'c')]) intents.record(e);
    expect(['a', 'b', 'c'].map((c) => intents.stoppedOnPurpose(c, 10))).toEqual([true, true, false]);
  });

  it('a kill whose die has not arrived yet already counts: the probe may find the container exited first', () => {
    const intents = new StopIntents();
    intents.record(event('kill', 1_000));
    expect(intents.stoppedOnPurpose('rtdetr', 1_010)).toBe(true);
    // Long after, with no die, it was a signal that did not stop it (a reload): no longer an intent.
    expect(intents.stoppedOnPurpose('rtdetr', 1_000 + 31_000)).toBe(false);
  });

  it('a start or restart clears the intent: a later bare die is a crash again', () => {
    const intents = new StopIntents();
    for (const e of [event('kill', 0), event('die', 1), event('stop', 2), event('start', 100)]) intents.record(e);
    expect(intents.stoppedOnPurpose('rtdetr', 101)).toBe(false);
    intents.record(event('die', 200));
    expect(intents.stoppedOnPurpose('rtdetr', 201)).toBe(false);
    intents.record(event('kill', 300));
    intents.record(event('restart', 301));
    expect(intents.stoppedOnPurpose('rtdetr', 302)).toBe(false);
  });

  it('a die long after the kill is a crash', () => {
    const intents = new StopIntents();
    intents.record(event('kill', 0));
    intents.record(event('die', 40_000));
    expect(intents.stoppedOnPurpose('rtdetr', 40_001)).toBe(false);
  });
});

describe('StopIntents: events from the stream and from catch-up reads, in any order', () => {
  it('applies each event once and never goes back in time: a replayed older stop never undoes a newer start', () => {
    const intents = new StopIntents();
    const history = [event('kill', 0), event('die', 1), event('stop', 2), event('start', 3), event('restart', 4)];
    for (const e of history) intents.record(e); // the live stream
    for (const e of history.slice(0, 3)) intents.record(e); // a catch-up read that stopped early
    expect(intents.stoppedOnPurpose('rtdetr', 5)).toBe(false);
    // A newer kill seen first by the stream, then an older replay: the kill stands.
    intents.record(event('kill', 100));
    for (const e of history) intents.record(e);
    expect(intents.stoppedOnPurpose('rtdetr', 101)).toBe(true);
  });

  it('a reload signal (docker kill -s HUP, USR1, USR2, WINCH) is not a stop: a crash after it is a crash', () => {
    for (const signal of ['1', '10', '12', '28']) {
      const intents = new StopIntents();
      intents.record({ ...event('kill', 0), signal });
      expect(intents.stoppedOnPurpose('rtdetr', 5), signal).toBe(false);
      intents.record(event('die', 10));
      expect(intents.stoppedOnPurpose('rtdetr', 11), signal).toBe(false);
    }
    const intents = new StopIntents();
    intents.record({ ...event('kill', 0), signal: '15' });
    expect(intents.stoppedOnPurpose('rtdetr', 5)).toBe(true);
  });

  it("Warden's own restart is never a stop, however late its kill, die and stop arrive; a stop after it still is", () => {
    const intents = new StopIntents();
    intents.record(event('kill', 1_000)); // the live stream delivered the restart's kill first
    intents.markOwn('rtdetr', 1_000, 1_500); // then the restart returned
    expect(intents.stoppedOnPurpose('rtdetr', 1_501)).toBe(false);
    // The rest arrives after the first look at the new instance (a loaded machine), in any order.
    for (const e of [event('stop', 1_200), event('die', 1_100), event('start', 1_400), event('restart', 1_450)]) intents.record(e);
    expect(intents.stoppedOnPurpose('rtdetr', 1_600)).toBe(false);
    // Someone stops it afterwards: that is theirs.
    for (const e of [event('kill', 5_000), event('die', 5_010), event('stop', 5_020)]) intents.record(e);
    expect(intents.stoppedOnPurpose('rtdetr', 5_030)).toBe(true);
    // Another container is not affected by this one's window.
    for (const e of [event('kill', 1_100, 'other'), event('die', 1_101, 'other')]) intents.record(e);
    expect(intents.stoppedOnPurpose('other', 1_200)).toBe(true);
  });
});
