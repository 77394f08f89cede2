#!/usr/bin/env node
// First, so that start-up itself runs with the small young generation (see the module).
import '../core/young-generation.js';
import { processIo } from './io.js';
import { main } from './main.js';

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
