/**
 * One load per GPU at a time (CONTRACT §11): two GPU services on one GPU are never restarted or
 * loading at once — Nemotron and the detector share GPU 0 on the reference workstation, and two
 * models loading together is how both end in "CUDA out of memory". A service holds its GPU from
 * the start of its restart until it is healthy (or gives up, is paused, stops); the next waits in
 * line, and is told for whom.
 */
export class GpuLocks {
  private readonly gpus = new Map<number, { holder: string; queue: { name: string; grant: () => void }[] }>();

  /** Who holds this GPU now, if anyone. */
  holder(index: number): string | null {
    return this.gpus.get(index)?.holder ?? null;
  }

  /** Take it now if it is free (a service found loading: others wait for it); false if another holds it. */
  tryAcquire(index: number, name: string): boolean {
    const lock = this.gpus.get(index);
    if (!lock) {
      this.gpus.set(index, { holder: name, queue: [] });
      return true;
    }
    return lock.holder === name;
  }

  /** Wait for this GPU (`onWait` says for whom, when there is a wait); rejects when `signal` aborts. */
  acquire(index: number, name: string, onWait: (holder: string) => void, signal: AbortSignal): Promise<void> {
    if (this.tryAcquire(index, name)) return Promise.resolve();
    const lock = this.gpus.get(index)!;
    onWait(lock.holder);
    return new Promise((resolve, reject) => {
      const entry = {
        name,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        lock.queue.splice(lock.queue.indexOf(entry), 1);
        reject(new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      lock.queue.push(entry);
    });
  }

  /** Let go of every GPU this service holds; the next in line gets it. */
  release(name: string): void {
    for (const [index, lock] of this.gpus) {
      if (lock.holder !== name) continue;
      const next = lock.queue.shift();
      if (next) {
        lock.holder = next.name;
        next.grant();
      } else this.gpus.delete(index);
    }
  }
}
