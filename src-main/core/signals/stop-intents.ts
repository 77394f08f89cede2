import type { ContainerEvent } from '../managers/docker-event-parser.js';

/** A die this soon after a kill event was asked for (docker stop/kill), not a crash. */
const KILL_TO_DIE_MS = 30_000;
/** Signals sent to reload or poke a server, not to stop it (`docker kill -s HUP`): 1, 10, 12, 28. */
const NOT_A_STOP = new Set(['1', '10', '12', '28', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'HUP', 'USR1', 'USR2', 'WINCH']);

/**
 * Which containers were stopped on purpose. Docker reports `docker stop` / compose down as
 * kill → die → stop and `docker kill` as kill → die; a crash is a bare die. A later start clears
 * the mark. Warden never restarts a container someone stopped (systemd's rule: a manual stop is
 * never undone by a restart policy).
 *
 * Events come from the live stream and from catch-up reads of the daemon's history, so the same
 * event can arrive twice and an older one after a newer: only an event newer than the last one
 * applied for its container changes anything, which makes every order end in the same state.
 */
export class StopIntents {
  private readonly stopped = new Set<string>();
  private readonly killedAt = new Map<string, number>();
  private readonly lastApplied = new Map<string, bigint>();
  /** Per container, the spans of Warden's own restarts (ms): what Docker logs in them is ours, not a stop. */
  private readonly own = new Map<string, { from: number; until: number }>();

  /**
   * Warden itself restarted (or stopped and started) this container from `from` to `until`: the
   * kill, die and stop Docker logs for it in that span are Warden's, whenever they arrive — the
   * live stream and the daemon's history can deliver them after the restart returned, and under
   * load after the first look at the new instance.
   */
  markOwn(container: string, from: number, until: number): void {
    this.own.set(container, { from, until });
    this.stopped.delete(container);
    this.killedAt.delete(container);
  }

  record(event: ContainerEvent): void {
    const c = event.container;
    if (/^\d+$/.test(event.timeNano)) {
      const at = BigInt(event.timeNano);
      const last = this.lastApplied.get(c);
      if (last !== undefined && at <= last) return; // seen already, or older than what we know
      this.lastApplied.set(c, at);
    }
    const own = this.own.get(c);
    if (own && event.time >= own.from && event.time <= own.until && event.kind !== 'start' && event.kind !== 'restart') return;
    switch (event.kind) {
      case 'kill':
        if (event.signal === undefined || !NOT_A_STOP.has(event.signal)) this.killedAt.set(c, event.time);
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

  /**
   * Stopped on purpose, or being stopped: a kill was asked for and its die has not arrived yet. A
   * probe triggered by the kill event (or by the watch connection closing) can find the container
   * exited before the stream delivers the die; that is still a stop, never a crash (§9.6).
   */
  stoppedOnPurpose(container: string, now = Date.now()): boolean {
    if (this.stopped.has(container)) return true;
    const killed = this.killedAt.get(container);
    return killed !== undefined && now - killed <= KILL_TO_DIE_MS;
  }
}
