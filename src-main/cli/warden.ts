#!/usr/bin/env node
import { holdYoungGenerationSmall } from '../core/young-generation.js';

// Before the rest of Warden is loaded, so that loading it runs under it too (see the module).
holdYoungGenerationSmall();
const { processIo } = await import('./io.js');
const { main } = await import('./main.js');

// SIGINT, SIGTERM and SIGHUP (the terminal running `warden serve` closed) stop it cleanly: the
// monitor, the server and any restart in flight (its whole process group) stop before exit 0.
const controller = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => controller.abort());

main(process.argv.slice(2), processIo, controller.signal).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`warden: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
