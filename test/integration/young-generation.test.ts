import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const MODULE = new URL('../../src-main/core/young-generation.ts', import.meta.url).href;

/**
 * A child Node that allocates like a start-up (many objects, a share of them surviving a few
 * scavenges) and reports its young generation's size before and after, optionally having
 * imported young-generation.ts first, as the entry points do.
 */
async function youngGeneration(importFirst: boolean): Promise<{ before: number; after: number }> {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    ${importFirst ? `await import(${JSON.stringify(MODULE)});` : ''}
    const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const before = newSpace();
    const kept = [];
    for (let i = 0; i < 2e6; i++) {
      const o = { i, a: [i, i + 1] };
      if (i % 8 === 0) kept.push(o);
      if (kept.length > 40000) kept.splice(0, 20000);
    }
    console.log(JSON.stringify({ before, after: newSpace() }));
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  return JSON.parse(stdout) as { before: number; after: number };
}

describe('young generation (issue 16: the peak RSS of start-up)', () => {
  it('stays at its initial size once young-generation.ts is imported, where V8 left alone grows it', async () => {
    const [plain, kept] = await Promise.all([youngGeneration(false), youngGeneration(true)]);
    // The same allocation grows it without the module: the check below is not vacuous.
    expect(plain.after).toBeGreaterThan(plain.before);
    expect(kept.after).toBe(kept.before);
  });

  it('is the first import of each entry point, so start-up runs under it', async () => {
    for (const entry of ['src-main/cli/warden.ts', 'src-main/electron/main.ts']) {
      const source = await readFile(new URL(`../../${entry}`, import.meta.url), 'utf8');
      const firstImport = /^import [^\n]*$/m.exec(source)?.[0];
      expect(firstImport, entry).toBe("import '../core/young-generation.js';");
    }
  });
});
