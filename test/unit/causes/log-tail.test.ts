import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { logOffset, logSince } from '../../../src-main/core/causes/log-tail.js';
import { serviceLogFile, servicePidfile } from '../../../src-main/core/config/service-files.js';

describe('the service log a failure is read from', () => {
  it('is logFile, else the log the ai/ start scripts append to, else none', () => {
    const env = { HOME: '/home/u' };
    expect(serviceLogFile({ logFile: '/var/log/x.log', restartCmd: './ai/start_detector.sh' }, env)).toBe('/var/log/x.log');
    expect(serviceLogFile({ restartCmd: './ai/start_detector.sh' }, env)).toBe('/home/u/.local/state/warden/rtdetr.log');
    expect(serviceLogFile({ restartCmd: 'NEMOTRON_MODEL=/m.gguf /opt/warden/ai/start_nemotron.sh --force' }, { XDG_STATE_HOME: '/s' })).toBe('/s/warden/nemotron.log');
    expect(serviceLogFile({ restartCmd: 'sudo systemctl restart redis' }, env)).toBeNull();
    expect(serviceLogFile({ restartCmd: null }, env)).toBeNull();
    expect(serviceLogFile({ restartCmd: './ai/start_detector.sh' }, {})).toBeNull();
    expect(servicePidfile({ pidfile: '/run/x.pid', restartCmd: null }, env)).toBe('/run/x.pid');
    expect(servicePidfile({ restartCmd: './ai/start_nemotron.sh' }, env)).toBe('/home/u/.local/state/warden/nemotron.pid');
    expect(servicePidfile({ restartCmd: 'true' }, env)).toBeNull();
  });

  it('gives what the log gained since an offset, all of it after a rotation, at most its last 16 KiB', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'warden-logtail-'));
    try {
      const file = path.join(dir, 'svc.log');
      expect(await logOffset(file)).toBe(0);
      expect(await logOffset(null)).toBe(0);
      expect(await logSince(null, 0)).toBe('');
      expect(await logSince(file, 0)).toBe('');
      await fs.writeFile(file, 'old run\n');
      const from = await logOffset(file);
      await fs.appendFile(file, 'this run\n');
      expect(await logSince(file, from)).toBe('this run\n');
      await fs.writeFile(file, 'rotated\n'); // smaller than the offset: a new file
      expect(await logSince(file, from + 100)).toBe('rotated\n');
      await fs.writeFile(file, 'x'.repeat(40_000));
      expect(await logSince(file, 0)).toHaveLength(16 * 1024);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
