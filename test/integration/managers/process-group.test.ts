import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { groupHasLiveMembers, signalGroup, stopGroup } from '../../../src-main/core/managers/process-group.js';
import { isAlive, killGroup } from '../../helpers/process-tree.js';

const started: number[] = [];
afterEach(() => started.splice(0).forEach((pid) => killGroup(pid)));

/** A detached `sleep` leading its own process group. */
function sleeper(): number {
  const child = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new Error('spawn failed');
  started.push(pid);
  return pid;
}

/** The id of a process group that existed and is now gone. */
async function goneGroup(): Promise<number> {
  const child = spawn('true', { detached: true, stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid ?? -1;
}

describe('process groups', () => {
  it('refuses pgid 0 and 1, which would signal our own group or every process', () => {
    expect(() => signalGroup(0, 'SIGKILL')).toThrow(RangeError);
    expect(() => signalGroup(1, 'SIGKILL')).toThrow(RangeError);
    expect(() => signalGroup(Number.NaN, 'SIGKILL')).toThrow(RangeError);
  });

  it('signalGroup reports whether the group still exists', async () => {
    expect(signalGroup(sleeper(), 0)).toBe(true);
    expect(signalGroup(await goneGroup(), 0)).toBe(false);
  });

  it('groupHasLiveMembers falls back to kill(-pgid, 0) where there is no /proc', async () => {
    expect(await groupHasLiveMembers(sleeper(), '/nonexistent-proc')).toBe(true);
    expect(await groupHasLiveMembers(await goneGroup(), '/nonexistent-proc')).toBe(false);
  });

  it('stopGroup says "gone" for a group that no longer exists', async () => {
    expect(await stopGroup(await goneGroup(), 100)).toBe('gone');
  });

  it('stopGroup ends a group that obeys SIGTERM without SIGKILL', async () => {
    const pid = sleeper();
    expect(await stopGroup(pid, 30_000)).toBe('terminated');
    expect(isAlive(pid)).toBe(false);
  });
});
