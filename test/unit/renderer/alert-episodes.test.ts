import { describe, expect, it } from 'vitest';
import { episodeKey, trackEpisodes } from '../../../src-renderer/state/alert-episodes.js';
import { state } from './fixtures.js';

describe('failure episodes', () => {
  it('a service that goes from healthy to a problem starts episode 1, and stays in it while the problem lasts', () => {
    let t = trackEpisodes({}, [state('a')]);
    expect(episodeKey('a', t)).toBe('a#0');
    t = trackEpisodes(t, [state('a', { status: 'unhealthy' })]);
    expect(episodeKey('a', t)).toBe('a#1');
    t = trackEpisodes(t, [state('a', { status: 'restarting' })]);
    t = trackEpisodes(t, [state('a', { status: 'failed' })]);
    expect(episodeKey('a', t)).toBe('a#1');
  });

  it('recovering and failing again is a new episode; paused and unknown end an episode too', () => {
    let t = trackEpisodes({}, [state('a', { status: 'failed' })]);
    expect(episodeKey('a', t)).toBe('a#1');
    t = trackEpisodes(t, [state('a')]);
    t = trackEpisodes(t, [state('a', { status: 'unhealthy' })]);
    expect(episodeKey('a', t)).toBe('a#2');
    t = trackEpisodes(t, [state('a', { status: 'paused' })]);
    t = trackEpisodes(t, [state('a', { status: 'starting' })]);
    expect(episodeKey('a', t)).toBe('a#3');
  });

  it('is idempotent for the same states (safe under React re-renders)', () => {
    const states = [state('a', { status: 'failed' })];
    const once = trackEpisodes({}, states);
    expect(trackEpisodes(once, states)).toEqual(once);
  });

  it('an unseen service has episode 0', () => {
    expect(episodeKey('nobody', {})).toBe('nobody#0');
  });
});
