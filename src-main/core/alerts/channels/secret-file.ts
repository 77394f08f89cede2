import { readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * A secret: inline, or the first line of a file (relative paths from the config file's folder).
 * An unreadable file is a delivery error that says which file — retried like any other.
 */
export async function readSecret(inline: string | undefined, file: string | undefined, baseDir: string): Promise<string | undefined> {
  if (inline !== undefined) return inline;
  if (file === undefined) return undefined;
  const full = path.resolve(baseDir, file);
  try {
    return (await readFile(full, 'utf8')).split('\n', 1)[0]!.trim();
  } catch (err) {
    throw new Error(`cannot read ${full} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
