// The Prometheus rules and the Grafana dashboard that ship in resources/ (CONTRACT §15): promtool
// checks the rules and runs their unit tests; every metric they use is one Warden really exports.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { WardenMetrics, type GpuMetricsSource, type MetricsSource } from '../../../src-main/core/server/metrics.js';

const run = promisify(execFile);
const DIR = fileURLToPath(new URL('../../../resources/prometheus/', import.meta.url));
const DASHBOARD = fileURLToPath(new URL('../../../resources/grafana/warden-dashboard.json', import.meta.url));

/** Every warden_* metric name Warden exports, with a GPU and one service. */
async function exported(): Promise<Set<string>> {
  const state = { service: 'rtdetr', status: 'healthy' } as ReturnType<MetricsSource['states']>[number];
  const source: MetricsSource = { states: () => [state], subscribe: () => () => undefined, onProbe: () => () => undefined };
  const gpu: GpuMetricsSource = {
    latest: () => ({ available: true, gpus: [{ index: 0, uuid: 'GPU-1', name: 'RTX', memoryUsedMiB: 1, memoryTotalMiB: 2, utilizationPct: 3, temperatureC: 40, powerW: 100 }] }),
    serviceMemoryMiB: async () => new Map([['rtdetr', 1]]),
  };
  const metrics = new WardenMetrics(source, { dropped: 0 }, gpu);
  const text = await metrics.render();
  metrics.close();
  return new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`, name!] : [name!])));
}

/** The metric names an expression uses (warden_* and process_*). */
const namesIn = (expr: string) => [...expr.matchAll(/\b((?:warden|process)_[a-z_]+)\b/g)].map((m) => m[1]!);

describe('resources/prometheus/warden-rules.yml', () => {
  it('is valid, and its promtool unit tests pass', async () => {
    const check = await run('promtool', ['check', 'rules', 'warden-rules.yml'], { cwd: DIR });
    expect(check.stdout).toContain('SUCCESS: 5 rules found');
    const test = await run('promtool', ['test', 'rules', 'warden-rules.test.yml'], { cwd: DIR });
    expect(test.stdout).toContain('SUCCESS');
  });

  it('uses only metrics Warden exports', async () => {
    const have = await exported();
    const rules = await fs.readFile(`${DIR}/warden-rules.yml`, 'utf8');
    const used = namesIn(rules);
    expect(used.length).toBeGreaterThan(4);
    expect(used.filter((n) => !have.has(n))).toEqual([]);
  });
});

describe('resources/grafana/warden-dashboard.json', () => {
  it('is a Grafana dashboard whose every query uses metrics Warden exports', async () => {
    const dash = JSON.parse(await fs.readFile(DASHBOARD, 'utf8')) as { uid: string; panels: { title: string; targets: { expr: string }[] }[] };
    expect(dash.uid).toBe('warden-services');
    const have = await exported();
    const unknown = dash.panels.flatMap((p) => p.targets.flatMap((t) => namesIn(t.expr).filter((n) => !have.has(n)).map((n) => `${p.title}: ${n}`)));
    expect(unknown).toEqual([]);
    expect(dash.panels.map((p) => p.title)).toEqual(expect.arrayContaining(['Services up', 'Restarts (per hour)', 'GPU memory used', 'Deep check duration (p95)']));
  });
});
