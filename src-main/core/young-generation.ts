import { setFlagsFromString } from 'node:v8';

/** How long start-up is held to the small young generation. */
const START_UP_MS = 60_000;

/** The flags by which an owner sizes V8's young generation: theirs are left alone. */
const OWN_CHOICE = /--(max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;

/**
 * Holds V8's young generation at its initial size (two 1 MiB semi-spaces) for the first
 * `forMs`, then gives V8 its own growth factor (2) back. `warden serve` calls it before it loads
 * the rest of Warden (cli/warden.ts); the tray app as its first statement (electron/main.ts).
 * Does nothing, and says so (false), when the owner chose a size with a V8 flag.
 *
 * Why (issue 16, `npm run bench -- footprint`): V8 doubles the young generation, up to 2 × 16 MiB,
 * whenever a scavenge finds many survivors, and start-up (some 300 modules, the config schemas,
 * the first connection to every service) does that within seconds. The memory reducer gave it
 * back only ~25 s later, so it was most of the peak RSS over the steady one (at 200 services,
 * 97–99 against 78–79 MB). Once running, Warden allocates ~3 KB per check (~600 KB/s at 200
 * services), which 1 MiB semi-spaces carry; later bursts may grow it again, as V8 decides.
 *
 * `--max-semi-space-size=1` would say the same, but only on the command line, where `node
 * dist/src-main/cli/warden.js serve` (the README's and a systemd unit's way to run it) has none.
 * At run time the growth factor does it: V8 reads it each time the young generation would grow
 * (NewSpace::Grow), and a value set here is kept (newer V8 raises a command-line factor under 2
 * to 2). Meanwhile V8's flag hash differs from the one Node's built-in code cache was made with,
 * so built-in modules loaded in that time are compiled from source: ~30 ms of CPU once.
 * test/integration/young-generation.test.ts proves both halves on the Node that runs the tests.
 */
export function holdYoungGenerationSmall(forMs = START_UP_MS, execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  if (OWN_CHOICE.test(execArgv.join(' ')) || OWN_CHOICE.test(nodeOptions)) return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  // V8's default again: its flag hash is the code cache's once more, too.
  setTimeout(setFlagsFromString, forMs, '--semi-space-growth-factor=2').unref();
  return true;
}
