/** Stand-in service as a process: `node stand-in-cli.js --kind llm --port 8091` (see stand-in-runner.ts). */
import { runStandInCli } from './stand-in-runner.js';

process.exit(
  await runStandInCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    signals: process,
    pid: process.pid,
  }),
);
