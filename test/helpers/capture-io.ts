import type { CliIo } from '../../src-main/cli/io.js';

/** A CLI io that records what a command prints. */
export function captureIo(env: Record<string, string | undefined> = {}): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    env,
    stdout: (t) => void (out += t),
    stderr: (t) => void (err += t),
    out: () => out,
    err: () => err,
  };
}
