/**
 * `npm run bench -- <name> [args…]`: reproducible benchmarks that print figures (never asserted
 * in tests). Names: detection (crash → unhealthy/healthy, shell and docker), probes (checks per
 * CPU-second), soak (20 services for N minutes: growth per hour, and events counted three ways), footprint
 * (N services at 1 s: checks per CPU-second, peak RSS and heap, beside a bare node:http client and monit).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES: Record<string, string> = {
  detection: './detection.ts',
  probes: './probe-throughput.ts',
  soak: './soak.ts',
  footprint: './footprint.ts',
};

const [name = '', ...args] = process.argv.slice(2);
const file = BENCHES[name];
if (!file) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [args]\n`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
