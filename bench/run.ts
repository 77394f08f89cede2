/**
 * `npm run bench -- <name> [args…]`: reproducible benchmarks that print figures (never asserted
 * in tests). Names: detection (crash → unhealthy/healthy, shell and docker), probes (checks per
 * CPU-second), soak (20 services for N minutes: growth per hour, and events counted three ways).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES: Record<string, string> = {
  detection: './detection.ts',
  probes: './probe-throughput.ts',
  soak: './soak.ts',
};

const [name = '', ...args] = process.argv.slice(2);
const file = BENCHES[name];
if (!file) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [args]\n`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL(file, import.meta.url)), ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
