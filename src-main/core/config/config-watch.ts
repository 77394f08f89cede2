import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/** Quiet time after the last change before the file is read: editors write in several steps. */
const DEBOUNCE_MS = 200;

/**
 * Calls `onChange` (debounced) when the config file may have changed on disk (CONTRACT §10). The
 * folder is watched, not the file: editors save by writing a temp file and renaming it over the
 * old one, which replaces the inode a file watch would follow. It only says "look"; the caller
 * reads the file and decides whether anything changed.
 */
export class ConfigFileWatch {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    readonly file: string,
    private readonly onChange: () => void,
    private readonly onError: (err: Error) => void,
    private readonly debounceMs = DEBOUNCE_MS,
  ) {}

  start(): void {
    if (this.watcher) return;
    const name = path.basename(this.file);
    try {
      this.watcher = watch(path.dirname(this.file), { persistent: false }, (_event, changed) => {
        // Some platforms give no name: then any change in the folder may be it.
        if (changed === null || changed === name) this.schedule();
      });
      this.watcher.on('error', (err) => this.onError(err));
    } catch (err) {
      this.onError(err as Error);
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange();
    }, this.debounceMs);
    this.timer.unref();
  }
}
