import fs from 'node:fs/promises';

/** Bytes of a service's log read to classify a failure: its last lines are what tell. */
const MAX_TAIL_BYTES = 16 * 1024;

/** The file's size now: where this attempt's part of the log starts (0 when it does not exist). */
export async function logOffset(file: string | null): Promise<number> {
  if (!file) return 0;
  return (await fs.stat(file).catch(() => null))?.size ?? 0;
}

/** What the log gained since `from` (its last 16 KiB of it; from 0 if it was rotated meanwhile). */
export async function logSince(file: string | null, from: number): Promise<string> {
  if (!file) return '';
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(file, 'r');
    const { size } = await handle.stat();
    const start = Math.max(size < from ? 0 : from, size - MAX_TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    await handle.read(buf, 0, buf.length, start);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    await handle?.close();
  }
}
