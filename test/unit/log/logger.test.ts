import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src-main/core/log/logger.js';

describe('structured log', () => {
  it('writes one JSON line per entry with an ISO time and a text level', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ destination: sink, level: 'info' });
    logger.info({ event: { type: 'service_status', status: 'failed' } }, 'service_status');
    logger.debug('not at info level');
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: 'info', name: 'warden', msg: 'service_status', event: { status: 'failed' } });
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
  });
});
