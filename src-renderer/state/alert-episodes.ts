import type { ServiceState } from '../../src-shared/protocol.js';
import { isProblem } from './service-reducer.js';

/** Per service: how many failure episodes it has had, and whether one is running now. */
export type EpisodeTracker = Readonly<Record<string, { episode: number; inProblem: boolean }>>;

/**
 * Advance the tracker with the latest states. An episode is a service's unbroken run of problem
 * statuses; it starts when the service goes from healthy / unknown / paused to a problem.
 */
export function trackEpisodes(prev: EpisodeTracker, states: Iterable<ServiceState>): EpisodeTracker {
  const next: Record<string, { episode: number; inProblem: boolean }> = {};
  for (const s of states) {
    const before = prev[s.service] ?? { episode: 0, inProblem: false };
    const problem = isProblem(s.status);
    next[s.service] = { episode: before.episode + (problem && !before.inProblem ? 1 : 0), inProblem: problem };
  }
  return next;
}

/** The identity of a service's current episode, as remembered by a dismissal. */
export function episodeKey(service: string, tracker: EpisodeTracker): string {
  return `${service}#${tracker[service]?.episode ?? 0}`;
}
