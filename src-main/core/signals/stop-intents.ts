import type { ContainerEvent } from '../managers/docker-event-parser.js';

/** A die this soon after a kill event was asked for (docker stop/kill), not a crash. */
const KILL_TO_DIE_MS = 30_000;

/**
 * Which containers were stopped on purpose. Docker reports `docker stop` / compose down as
 * kill → die → stop and `docker kill` as kill → die; a crash is a bare die. A later start clears
 * the mark. Warden never restarts a container someone stopped (systemd's rule: a manual stop is
 * never undone by a restart policy).
 */
export class StopIntents {
  private readonly stopped = new Set<string>();
  private readonly killedAt = new Map<string, number>();

  record(event: ContainerEvent): void {
    const c = event.container;
    switch (event.kind) {
      case 'kill':
        this.killedAt.set(c, event.time);
        break;
      case 'die': {
        const killed = this.killedAt.get(c);
        if (killed !== undefined && event.time - killed <= KILL_TO_DIE_MS) this.stopped.add(c);
        this.killedAt.delete(c);
        break;
      }
      case 'stop':
        this.stopped.add(c);
        break;
      case 'start':
      case 'restart':
        this.stopped.delete(c);
        this.killedAt.delete(c);
        break;
    }
  }

  stoppedOnPurpose(container: string): boolean {
    return this.stopped.has(container);
  }
}
