import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** File name of the per-install API token inside the config directory (CONTRACT §5). */
export const TOKEN_FILE = 'token';

/**
 * The API token: `$WARDEN_TOKEN` when set, else `<configDir>/token`, created on first use with
 * 32 random bytes (hex) and mode 0600. A token file readable by others is tightened to 0600.
 */
export async function loadOrCreateToken(configDir: string, env: Record<string, string | undefined> = process.env): Promise<string> {
  const fromEnv = env.WARDEN_TOKEN?.trim();
  if (fromEnv) return fromEnv;

  const file = path.join(configDir, TOKEN_FILE);
  const existing = await readToken(file);
  if (existing) return existing;

  await fs.mkdir(configDir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('hex');
  // Written whole to a private temp file, then linked into place: link() fails if the file exists,
  // so two first runs at once agree on one token and nobody ever reads a half-written file.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, `${token}\n`, { mode: 0o600 });
  try {
    await fs.link(tmp, file);
    return token;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const theirs = await readToken(file);
    if (theirs) return theirs;
    // An empty file (e.g. truncated by a crash): replace it.
    await fs.rename(tmp, file);
    return token;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** The token in `file` (permissions tightened to 0600), or null when missing or empty. */
async function readToken(file: string): Promise<string | null> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const token = text.trim();
  if (!token) return null;
  const { mode } = await fs.stat(file);
  if ((mode & 0o077) !== 0) await fs.chmod(file, 0o600);
  return token;
}

/** Constant-time comparison; both sides are hashed first so not even the length leaks. */
export function tokensEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
