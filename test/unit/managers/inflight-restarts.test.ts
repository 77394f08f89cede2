import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InflightRestarts } from '../../../src-main/core/managers/inflight-restarts.js';
import { killGroup } from '../../helpers/process-tree.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-inflight-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** A real process group to record, as the shell strategy does. */
function group() {
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  return { pgid: child.pid!, stop: () => killGroup(child.pid!), exited: new Promise((r) => child.once('exit', r)) };
}

describe('InflightRestarts', () => {
  it('records a running command (mode 0600) and finds it again as a survivor; remove() forgets it', async () => {
    const g = group();
    try {
      const records = new InflightRestarts(path.join(dir, 'inflight'));
      records.record('rtdetr', g.pgid, 60_000, 1_000);
      const file = path.join(dir, 'inflight', 'rtdetr.json');
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      const { live, stale } = records.survivors();
      expect(stale).toEqual([]);
      expect(live).toEqual([expect.objectContaining({ service: 'rtdetr', pgid: g.pgid, startedAt: 1_000, deadline: 61_000 })]);
      records.remove('rtdetr', g.pgid + 1); // someone else's: kept
      expect(records.survivors().live).toHaveLength(1);
      records.remove('rtdetr', g.pgid);
      await expect(fs.stat(file)).rejects.toThrow(/ENOENT/);
    } finally {
      g.stop();
    }
  });

  it('drops records whose command ended, whose pid is another process now, or that are not records', async () => {
    const g = group();
    const records = new InflightRestarts(dir);
    records.record('ended', g.pgid, 60_000);
    g.stop();
    await g.exited;
    const other = group();
    try {
      records.record('reused', other.pgid, 60_000);
      const file = path.join(dir, 'reused.json');
      const entry = JSON.parse(await fs.readFile(file, 'utf8'));
      await fs.writeFile(file, JSON.stringify({ ...entry, startTicks: '1' })); // same pid, another process
      // A live group, but times no Date can hold (a corrupt file): not followed.
      for (const [name, times] of [['far', { startedAt: 1e300 }], ['no-deadline', { deadline: null }]] as const) {
        records.record(name, other.pgid, 60_000);
        const own = path.join(dir, `${name}.json`);
        await fs.writeFile(own, JSON.stringify({ ...JSON.parse(await fs.readFile(own, 'utf8')), ...times }));
      }
      await fs.writeFile(path.join(dir, 'garbage.json'), 'not json');
      await fs.writeFile(path.join(dir, 'ignored.txt'), 'not a record file');
      const { live, stale } = records.survivors();
      expect(live).toEqual([]);
      expect(stale.sort()).toEqual(['ended', 'far.json', 'garbage.json', 'no-deadline.json', 'reused']);
      expect((await fs.readdir(dir)).sort()).toEqual(['ignored.txt']);
    } finally {
      other.stop();
    }
  });

  it('has nothing to say when its folder does not exist', () => {
    expect(new InflightRestarts(path.join(dir, 'nope')).survivors()).toEqual({ live: [], stale: [] });
  });
});
