import { describe, expect, it } from 'vitest';
import { OutputTail } from '../../../src-main/core/managers/output-tail.js';

describe('OutputTail', () => {
  it('keeps everything while under the limit, trimmed', () => {
    const tail = new OutputTail(16);
    tail.push('  hello\n');
    tail.push(Buffer.from('world\n'));
    expect(tail.toString()).toBe('hello\nworld');
  });

  it('keeps exactly the last `limit` bytes across many small chunks', () => {
    const tail = new OutputTail(10);
    for (let i = 0; i < 1000; i++) tail.push(`${i % 10}`);
    expect(tail.toString()).toBe('0123456789');
  });

  it('keeps the tail of one chunk larger than the limit', () => {
    const tail = new OutputTail(4);
    tail.push('abcdefgh');
    expect(tail.toString()).toBe('efgh');
  });

  it('drops a UTF-8 character the window cut in half instead of showing garbage', () => {
    const tail = new OutputTail(4);
    tail.push('xé✓'); // x(1) é(2) ✓(3): the last 4 bytes start inside é
    expect(tail.toString()).toBe('✓');
  });

  it('is empty when nothing was written', () => {
    expect(new OutputTail().toString()).toBe('');
  });
});
