import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseStandInArgs, runStandInCli, STAND_IN_USAGE } from '../../../src-main/demo/stand-in-runner.js';
import { waitUntil } from '../../helpers/process-tree.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warden-stand-in-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Run the CLI in-process with captured output and an emitter standing for the process's signals. */
function run(argv: string[]) {
  const io = { out: '', err: '', signals: new EventEmitter(), pid: 4242 };
  const done = runStandInCli(argv, {
    stdout: (t) => (io.out += t),
    stderr: (t) => (io.err += t),
    signals: io.signals,
    pid: io.pid,
  });
  return { io, done };
}

describe('parseStandInArgs', () => {
  it('defaults to a plain stand-in on a free port', () => {
    expect(parseStandInArgs([])).toEqual({
      port: 0, kind: 'plain', loadSeconds: 0, degraded: false, hang: false, completions: 'ok', slots: 1, busy: false, breakFile: undefined, exitAtOnce: false, pidfile: undefined, help: false,
    });
  });

  it('reads every option', () => {
    expect(
      parseStandInArgs([
        '--port', '8091', '--kind', 'llm', '--load-seconds', '1.5', '--degraded', '--hang', '--completions', 'hang', '--slots', '4', '--busy',
        '--break-file', '/tmp/b', '--exit-at-once', '--pidfile', '/tmp/p', '-h',
      ]),
    ).toEqual({
      port: 8091, kind: 'llm', loadSeconds: 1.5, degraded: true, hang: true, completions: 'hang', slots: 4, busy: true, breakFile: '/tmp/b', exitAtOnce: true, pidfile: '/tmp/p', help: true,
    });
  });

  it.each([
    [['--port=-1'], /--port must be 0–65535/],
    [['--port', '70000'], /--port must be 0–65535/],
    [['--port', 'x'], /--port must be 0–65535/],
    [['--kind', 'gpu'], /--kind must be detector, llm, plain; got "gpu"/],
    [['--load-seconds=-2'], /--load-seconds must be a number of seconds ≥ 0/],
    [['--load-seconds', ''], /--load-seconds must be/],
    [['--load-seconds', 'soon'], /--load-seconds must be/],
    [['--completions', 'slow'], /--completions must be ok, fail, hang; got "slow"/],
    [['--slots', '0'], /--slots must be 1–64/],
    [['--slots', '2.5'], /--slots must be 1–64/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseStandInArgs(argv)).toThrow(message);
  });
});

describe('runStandInCli', () => {
  it('prints "listening <port>", writes the pidfile, and on SIGTERM closes, removes it and exits 0', async () => {
    const pidfile = join(dir, 'stand-in.pid');
    const { io, done } = run(['--kind', 'llm', '--pidfile', pidfile]);
    const port = await waitUntil(() => Number(/^listening (\d+)\n$/.exec(io.out)?.[1]));
    expect(readFileSync(pidfile, 'utf8')).toBe('4242\n');
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await res.json()).toEqual({ status: 'ok' });
    io.signals.emit('SIGTERM');
    expect(await done).toBe(0);
    expect(existsSync(pidfile)).toBe(false);
    expect(io.signals.listenerCount('SIGTERM') + io.signals.listenerCount('SIGINT')).toBe(0);
  });

  it('stops on SIGINT too, and leaves a pidfile that a newer instance has taken over', async () => {
    const pidfile = join(dir, 'stand-in.pid');
    const { io, done } = run(['--pidfile', pidfile]);
    await waitUntil(() => io.out.startsWith('listening '));
    writeFileSync(pidfile, '999\n');
    io.signals.emit('SIGINT');
    expect(await done).toBe(0);
    expect(readFileSync(pidfile, 'utf8')).toBe('999\n');
  });

  it('runs without a pidfile', async () => {
    const { io, done } = run([]);
    await waitUntil(() => io.out.startsWith('listening '));
    io.signals.emit('SIGTERM');
    expect(await done).toBe(0);
  });

  it('exits 0 when stopped while the detector is still loading, without ever listening', async () => {
    const { io, done } = run(['--kind', 'detector', '--load-seconds', '1000']);
    io.signals.emit('SIGTERM');
    expect(await done).toBe(0);
    expect(io.out).toBe('');
  });

  it('--exit-at-once exits 3 at once with a reason on stderr (a failure no restart can fix)', async () => {
    const { io, done } = run(['--kind', 'llm', '--exit-at-once']);
    expect(await done).toBe(3);
    expect(io.err).toMatch(/^stand-in \(llm\): fatal: cannot start/);
    expect(io.out).toBe('');
  });

  it('exits 2 with the usage on bad arguments', async () => {
    const { io, done } = run(['--kind', 'gpu']);
    expect(await done).toBe(2);
    expect(io.err).toContain('stand-in: --kind must be');
    expect(io.err).toContain(STAND_IN_USAGE);
  });

  it('--help prints the usage and exits 0', async () => {
    const { io, done } = run(['--help']);
    expect(await done).toBe(0);
    expect(io.out).toBe(`${STAND_IN_USAGE}\n`);
  });

  it('exits 1 with a clear message when the port is taken', async () => {
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { io, done } = run(['--port', String(port)]);
      expect(await done).toBe(1);
      expect(io.err).toMatch(new RegExp(`^stand-in: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
    } finally {
      blocker.close();
    }
  });
});
