import fs from 'node:fs/promises';
import path from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import { runtimeDir } from '../config/paths.js';
import { pidAlive } from '../signals/pid-watch.js';

/** Where a running server says it is, so `warden status` finds one started with `--port 0`. */
export interface ServerFile {
  url: string;
  pid: number;
}

/** `$XDG_RUNTIME_DIR/warden/server.json`, else `<dataDir>/server.json`. */
export function serverFilePath(env: Record<string, string | undefined>): string {
  return path.join(runtimeDir(env), 'server.json');
}

/** Written once the server listens (mode 0600, folder 0700), atomically. */
export async function writeServerFile(file: string, info: ServerFile): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, `${JSON.stringify(info)}\n`, { mode: 0o600 });
}

/** Removed on exit — only if it still names this process (another server may have taken over). */
export async function removeServerFile(file: string, pid: number): Promise<void> {
  const current = await readRaw(file);
  if (current?.pid === pid) await fs.rm(file, { force: true });
}

/** The server a file names, or null when there is none, it is unreadable, or its process is gone. */
export async function readServerFile(file: string): Promise<ServerFile | null> {
  const info = await readRaw(file);
  return info && (await pidAlive(info.pid)) ? info : null;
}

async function readRaw(file: string): Promise<ServerFile | null> {
  try {
    const info = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<ServerFile>;
    return typeof info.url === 'string' && Number.isInteger(info.pid) && info.pid! > 1 ? { url: info.url, pid: info.pid! } : null;
  } catch {
    return null;
  }
}
