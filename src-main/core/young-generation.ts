import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young generation at its initial size (two 1 MiB semi-spaces) for the life of the
 * process. Each entry point (cli/warden.ts, electron/main.ts) imports this module first, so it
 * runs before the rest of Warden loads.
 *
 * Why (issue 16, `npm run bench -- footprint`): V8 doubles the young generation, up to 2 × 16 MiB,
 * whenever a scavenge finds many survivors, and start-up (some 300 modules, the config schemas)
 * does that within seconds. The memory reducer gives it back only ~25 s later, so it was the peak
 * RSS over the steady one: 81 against 70 MB at 50 services. Once running, Warden allocates ~3 KB
 * per check (~600 KB/s at 200 services), which V8 carries in 1 MiB semi-spaces anyway: it
 * shrinks back to them by itself after start-up.
 *
 * `--max-semi-space-size=1` says the same but only works on the command line, where `node
 * dist/src-main/cli/warden.js serve` (the README's and a systemd unit's way to run it) has none.
 * At run time the growth factor does it: V8 reads it each time the young generation would grow
 * (NewSpace::Grow). On the command line V8 would raise a factor under 2 back to 2
 * (DEFINE_MIN_VALUE_IMPLICATION in flag-definitions.h); set here, after start-up, it stays.
 * test/integration/young-generation.test.ts proves it takes effect on the Node that runs the tests.
 */
setFlagsFromString('--semi-space-growth-factor=1');
