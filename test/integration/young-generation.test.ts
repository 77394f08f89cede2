import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MODULE = new URL('../../src-main/core/young-generation.ts', import.meta.url).href;

interface Sizes {
  held: boolean;
  before: number;
  /** After start-up-like allocation while held. */
  during: number;
  /** After the same allocation again, once the hold is over. */
  after: number;
}

/**
 * A child Node that holds its young generation for 200 ms (or not: `hold` false), allocates like a
 * start-up (many objects, a share surviving a few scavenges), then, once the hold is over (a
 * timer due after the module's own), allocates the same again; it reports the young
 * generation's size at each point. `execArgv` is what the module is told the process was run with.
 */
async function youngGeneration(hold: boolean, execArgv: string[] = []): Promise<Sizes> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    const { holdYoungGenerationSmall } = await import(${JSON.stringify(MODULE)});
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const churn = () => {
      const kept = [];
      for (let i = 0; i < 2e6; i++) {
        const o = { i, a: [i, i + 1] };
        if (i % 8 === 0) kept.push(o);
        if (kept.length > 40000) kept.splice(0, 20000);
      }
    };
    const before = newSpace();
    const held = ${hold} ? holdYoungGenerationSmall(200, ${JSON.stringify(execArgv)}, '') : false;
    churn();
    const during = newSpace();
    setTimeout(() => {
      churn();
      console.log(JSON.stringify({ held, before, during, after: newSpace() }));
    }, 201);
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  return JSON.parse(stdout) as Sizes;
}

describe('young generation (issue 16: the peak RSS of start-up)', () => {
  it('stays at its initial size while held, where V8 left alone grows it; after the hold V8 grows it again', async () => {
    const [plain, held] = await Promise.all([youngGeneration(false), youngGeneration(true)]);
    // The same allocation grows it unheld: the check below is not vacuous.
    expect(plain.during).toBeGreaterThan(plain.before);
    expect(held).toMatchObject({ held: true, during: held.before });
    expect(held.after).toBeGreaterThan(held.before);
  });

  it('leaves a size the owner chose with a V8 flag alone', async () => {
    const own = await youngGeneration(true, ['--max-semi-space-size=64']);
    expect(own.held).toBe(false);
    expect(own.during).toBeGreaterThan(own.before);
  });

  it('reads the owner\'s choice from NODE_OPTIONS too', async () => {
    const { holdYoungGenerationSmall } = await import('../../src-main/core/young-generation.js');
    expect(holdYoungGenerationSmall(1, [], '--max-old-space-size=512 --semi-space-growth-factor=4')).toBe(false);
    expect(holdYoungGenerationSmall(1, ['--max-old-space-size=512'], '')).toBe(true); // held for 1 ms here
  });

  it('is held by each entry point before anything else runs', async () => {
    const { readFile } = await import('node:fs/promises');
    const cli = await readFile(new URL('../../src-main/cli/warden.ts', import.meta.url), 'utf8');
    // `warden serve` loads the rest of Warden only after it (dynamic imports).
    expect(cli.match(/^import .*$/gm)).toEqual(["import { holdYoungGenerationSmall } from '../core/young-generation.js';"]);
    expect(cli.indexOf('holdYoungGenerationSmall();')).toBeLessThan(cli.indexOf("await import('./main.js')"));
    const tray = await readFile(new URL('../../src-main/electron/main.ts', import.meta.url), 'utf8');
    expect(tray.indexOf('holdYoungGenerationSmall();')).toBeLessThan(tray.indexOf('bootstrap({'));
  });
});
