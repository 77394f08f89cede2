import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../src-main/cli/main.js';
import { captureIo } from '../../helpers/capture-io.js';

const run = promisify(execFile);
let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-cli-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});
const never = new AbortController().signal;

describe('warden config validate', () => {
  it('exits 0 for a valid file and lists its services', async () => {
    const file = path.join(dir, 'ok.json');
    await fs.writeFile(file, JSON.stringify({ services: [{ name: 'a', healthUrl: 'tcp://127.0.0.1:1', restartCmd: null }] }));
    const io = captureIo();
    expect(await main(['config', 'validate', file], io, never)).toBe(0);
    expect(io.out()).toContain('valid (1 services: a)');
  });

  it('exits 2 naming every bad field, and never rewrites the file', async () => {
    const file = path.join(dir, 'config.json');
    const text = JSON.stringify({ healthCheckInterval: -1, services: [{ name: 'a', healthUrl: 'ftp://x', restartCmd: 'x' }, { name: 'a', healthUrl: 'tcp://h:1', restartCmd: null }] });
    await fs.writeFile(file, text);
    const io = captureIo();
    expect(await main(['config', 'validate', '--config', file], io, never)).toBe(2);
    expect(io.err().trim().split('\n')).toEqual([
      'config.json: healthCheckInterval: must be greater than 0 (seconds)',
      'config.json: services[0].healthUrl: must be http(s)://, redis://, tcp://host:port, docker://container or systemd://unit',
      'config.json: services[1].name: duplicate name "a" (also services[0])',
    ]);
    expect(await fs.readFile(file, 'utf8')).toBe(text);
  });

  it('names a duplicate name in the same run as a field of the wrong type (every problem at once)', async () => {
    const file = path.join(dir, 'config.json');
    const text = JSON.stringify({ serviceManagerType: 'podman', services: [{ name: 'a', healthUrl: 'tcp://h:1', restartCmd: 5 }, { name: 'a', healthUrl: 'docker://a', restartCmd: null }] });
    await fs.writeFile(file, text);
    const io = captureIo();
    expect(await main(['config', 'validate', file], io, never)).toBe(2);
    expect(io.err().trim().split('\n')).toEqual([
      'config.json: serviceManagerType: must be "shell", "docker" or "systemd"',
      'config.json: services[0].restartCmd: must be a shell command, or null for monitor only',
      'config.json: services[1].healthUrl: docker:// health needs the docker strategy ("strategy": "docker", or "serviceManagerType": "docker")',
      'config.json: services[1].name: duplicate name "a" (also services[0])',
    ]);
  });

  it('exits 2 for a health URL the probes could not use, with the reason', async () => {
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, JSON.stringify({ services: [{ name: 'a', healthUrl: 'http://127.0.0.1:99999/health', restartCmd: null }] }));
    const io = captureIo();
    expect(await main(['config', 'validate', file], io, never)).toBe(2);
    expect(io.err().trim()).toBe('config.json: services[0].healthUrl: port 99999 is out of range (1–65535)');
  });

  it('exits 2 for a missing file', async () => {
    const io = captureIo();
    expect(await main(['config', 'validate', path.join(dir, 'nope.json')], io, never)).toBe(2);
    expect(io.err()).toContain('cannot read');
  });

  it('runs as the real bin with the same exit code and message, and no stack trace', async () => {
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, '{"services": "many"}');
    const err = await run(process.execPath, ['--import', 'tsx', 'src-main/cli/warden.ts', 'config', 'validate', file]).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2, stderr: 'config.json: services: must be a list of services\n' });
  });
});

describe('usage', () => {
  it('prints help with exit 0, and exits 2 on an unknown command or flag', async () => {
    const help = captureIo();
    expect(await main(['--help'], help, never)).toBe(0);
    expect(help.out()).toContain('warden serve');
    const unknown = captureIo();
    expect(await main(['explode'], unknown, never)).toBe(2);
    expect(unknown.err()).toContain('unknown or incomplete command: explode');
    const none = captureIo();
    expect(await main([], none, never)).toBe(2);
    expect(none.err()).toContain('no command given');
    const flag = captureIo();
    expect(await main(['status', '--bogus'], flag, never)).toBe(2);
    expect(flag.err()).toContain("Unknown option '--bogus'");
    expect(await main(['restart'], captureIo(), never)).toBe(2);
    expect(await main(['config', 'check'], captureIo(), never)).toBe(2);
  });
});
