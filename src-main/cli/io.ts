/** Where a command writes and what it reads: injected so commands run in-process in tests. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

/** CONTRACT §6 exit codes. */
export const EXIT = { ok: 0, runtime: 1, usage: 2, unreachable: 3 } as const;

export const processIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  env: process.env,
};
