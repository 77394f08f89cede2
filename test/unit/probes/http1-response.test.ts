import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Http1Response, HttpResponseError, MAX_HEAD_BYTES } from '../../../src-main/core/probes/http1-response.js';

/**
 * Feeds `raw` in the given pieces, each through one shared, reused buffer (as the probe does), with
 * `stale` bytes after each read; returns the response and whether it completed.
 */
function feed(raw: string | Buffer, cuts: number[] = [], maxBody = 64 * 1024, stale = 'A'): { res: Http1Response; complete: boolean } {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw;
  const shared = Buffer.alloc(bytes.length + 64);
  const res = new Http1Response(maxBody);
  let complete = false;
  let at = 0;
  for (const end of [...cuts.filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b), bytes.length]) {
    if (end <= at) continue;
    shared.fill(stale);
    bytes.copy(shared, 0, at, end);
    complete = res.feed(shared, 0, end - at);
    at = end;
    if (complete) break;
  }
  return { res, complete };
}

describe('Http1Response: framing', () => {
  it('reads a Content-Length body and keeps an HTTP/1.1 connection', () => {
    const { res, complete } = feed('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"status":"ok"}');
    expect(complete).toBe(true);
    expect(res).toMatchObject({ statusCode: 200, keepAlive: true });
    expect(res.body).toBe('{"status":"ok"}');
  });

  it('reads a chunked body with extensions and trailers', () => {
    const { res, complete } = feed('HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nLoad \r\n9\r\ning model\r\n0\r\nX-T: 1\r\n\r\n');
    expect(complete).toBe(true);
    expect(res.statusCode).toBe(503);
    expect(res.body).toBe('Load ing model');
    expect(res.keepAlive).toBe(true);
  });

  it('lets Transfer-Encoding win over Content-Length (RFC 9112 §6.3)', () => {
    const { res } = feed('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
    expect(res.body).toBe('ok');
  });

  it('reads a body without a length to the end of the connection, and does not reuse it', () => {
    const { res, complete } = feed('HTTP/1.1 200 OK\r\n\r\nOK');
    expect(complete).toBe(false);
    expect(res.finishOnEof()).toBe(true);
    expect(res.body).toBe('OK');
    expect(res.keepAlive).toBe(false);
  });

  it('has no body on 204 and 304, and skips 1xx answers', () => {
    expect(feed('HTTP/1.1 204 No Content\r\n\r\n').res).toMatchObject({ statusCode: 204, keepAlive: true });
    expect(feed('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').complete).toBe(true);
    const { res } = feed('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK');
    expect(res).toMatchObject({ statusCode: 200, body: 'OK' });
  });

  it('keeps the Keep-Alive hint of the final answer only, not of a 1xx before it', () => {
    const { res } = feed('HTTP/1.1 100 Continue\r\nKeep-Alive: timeout=1\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK');
    expect(res).toMatchObject({ statusCode: 200, keepAliveHintMs: null, keepAlive: true });
  });

  it('does not reuse a connection whose answer had both Transfer-Encoding and Content-Length, or Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.3, §6.1)', () => {
    const both = feed('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n2\r\nok\r\n0\r\n\r\n');
    expect(both.complete).toBe(true);
    expect(both.res).toMatchObject({ body: 'ok', keepAlive: false });
    const http10 = feed('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n');
    expect(http10.res).toMatchObject({ body: 'ok', keepAlive: false });
  });

  it('skips empty lines before the status line, as llhttp does; they alone are not the answer starting', () => {
    const { res, complete } = feed('\r\n\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK', [1, 2]);
    expect(complete).toBe(true);
    expect(res).toMatchObject({ statusCode: 200, body: 'OK', keepAlive: true, started: true });
    expect(feed('\r\n').res.started).toBe(false);
  });

  it('fails a server that sends only empty lines once they pass the head limit, read by read, not at the deadline', () => {
    const res = new Http1Response(64 * 1024);
    const lines = Buffer.from('\r\n'.repeat(1024)); // 2 KiB a read
    for (let read = 0; read < 8; read++) expect(res.feed(lines, 0, lines.length)).toBe(false);
    expect(() => res.feed(lines, 0, 1)).toThrow(new HttpResponseError('over 16 KiB of empty lines before the status line'));
    // Up to the limit, they are skipped and the answer after them is read.
    const { res: after, complete } = feed('\r\n'.repeat(8 * 1024) + 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK', [2048, 4096]);
    expect({ complete, body: after.body }).toEqual({ complete: true, body: 'OK' });
  });

  it('finds the end of a head split across reads, whatever stale bytes the shared buffer holds beyond the read', () => {
    const raw = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK';
    for (const cut of [10, 20, 35, 36, 37]) {
      const { res, complete } = feed(raw, [cut], 64 * 1024, '\r\n\r\n');
      expect({ cut, complete, body: res.body }).toEqual({ cut, complete: true, body: 'OK' });
    }
  });

  it('closes on Connection: close, and on HTTP/1.0 unless it says keep-alive', () => {
    expect(feed('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nOK').res.keepAlive).toBe(false);
    expect(feed('HTTP/1.1 200 OK\r\nConnection: Upgrade, close\r\nContent-Length: 2\r\n\r\nOK').res.keepAlive).toBe(false);
    expect(feed('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nOK').res.keepAlive).toBe(false);
    expect(feed('HTTP/1.0 200 OK\r\nCONNECTION: Keep-Alive\r\nContent-Length: 2\r\n\r\nOK').res.keepAlive).toBe(true);
    expect(feed('HTTP/1.0 200 OK\r\nConnection: foo, keep-alive\r\nContent-Length: 2\r\n\r\nOK').res.keepAlive).toBe(true);
  });

  it("reads the server's Keep-Alive timeout", () => {
    expect(feed('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n').res.keepAliveHintMs).toBe(5000);
    expect(feed('HTTP/1.1 200 OK\r\nkeep-alive: max=100, timeout = 2\r\nContent-Length: 0\r\n\r\n').res.keepAliveHintMs).toBe(2000);
    expect(feed('HTTP/1.1 200 OK\r\nKeep-Alive: max=100\r\nContent-Length: 0\r\n\r\n').res.keepAliveHintMs).toBeNull();
  });

  it('cuts a body at the cap and does not reuse the connection', () => {
    const { res, complete } = feed(`HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${'x'.repeat(100)}`, [50, 70], 10);
    expect(complete).toBe(true);
    expect(res.body).toBe('x'.repeat(10));
    expect(res.keepAlive).toBe(false);
  });

  it('does not reuse a connection that sent bytes after the response', () => {
    const { res, complete } = feed('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOKjunk');
    expect(complete).toBe(true);
    expect(res.keepAlive).toBe(false);
  });

  it('tells a response cut short by the end of the connection', () => {
    const { res } = feed('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOK');
    expect(res.finishOnEof()).toBe(false);
    expect(new Http1Response(10).started).toBe(false);
    expect(res.started).toBe(true);
  });

  it('decodes UTF-8 split across reads', () => {
    const body = Buffer.from('{"status":"ok","note":"€"}');
    const raw = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    const { res } = feed(raw, [raw.length - 4]);
    expect(res.body).toBe('{"status":"ok","note":"€"}');
  });
});

describe('Http1Response: bad answers', () => {
  it.each([
    ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', /not an HTTP\/1\.x response: "SSH-2\.0/],
    ['HTTP/2 preface', 'HTTP/2 200\r\n\r\n', /not an HTTP\/1\.x response/],
    ['a bad status code', 'HTTP/1.1 2x0 OK\r\n\r\n', /not an HTTP/],
    ['a bad Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n', /bad Content-Length: 1e3/],
    ['two Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nOK', /bad Content-Length/],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /bad chunk size "zz"/],
    ['no CRLF after a chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX\r\n', /no CRLF after a chunk/],
    ['101', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n', /switched protocols/],
  ])('refuses %s', (_what, raw, message) => {
    expect(() => feed(raw)).toThrow(HttpResponseError);
    expect(() => feed(raw)).toThrow(message);
  });

  it('refuses headers over 16 KiB and chunk lines over 1 KiB', () => {
    expect(() => feed(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES)}`, [100, 9000])).toThrow(/over 16 KiB/);
    expect(() => feed(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'1'.repeat(2000)}`, [80, 900])).toThrow(/over 1 KiB/);
  });
});

describe('Http1Response: property', () => {
  it('reads the same response whatever the reads it comes in', () => {
    const response = fc.record({
      status: fc.constantFrom(200, 204, 500, 503),
      body: fc.string({ unit: 'grapheme', maxLength: 40 }),
      chunked: fc.boolean(),
      chunkSize: fc.integer({ min: 1, max: 7 }),
      extra: fc.array(fc.tuple(fc.constantFrom('X-A', 'Date', 'Connection', 'Server'), fc.constantFrom('1', 'keep-alive', 'x y')), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(response, fc.array(fc.nat(400), { maxLength: 8 }), fc.constantFrom('A', '\r\n', '\r\n\r\n', 'HTTP/1.1 200 OK\r\n'), fc.constantFrom('', '\r\n'), ({ status, body, chunked, chunkSize, extra }, cuts, stale, before) => {
        const bytes = Buffer.from(status === 204 ? '' : body);
        let framed: Buffer;
        if (status === 204) framed = Buffer.alloc(0);
        else if (!chunked) framed = bytes;
        else {
          const parts: Buffer[] = [];
          for (let i = 0; i < bytes.length; i += chunkSize) {
            const piece = bytes.subarray(i, i + chunkSize);
            parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
          }
          framed = Buffer.concat([...parts, Buffer.from('0\r\n\r\n')]);
        }
        const head = [`HTTP/1.1 ${status} X`, ...extra.map(([k, v]) => `${k}: ${v}`), chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${bytes.length}`].join('\r\n');
        const raw = Buffer.concat([Buffer.from(`${before}${head}\r\n\r\n`), framed]);
        const { res, complete } = feed(raw, cuts, 64 * 1024, stale);
        expect(complete).toBe(true);
        expect(res.statusCode).toBe(status);
        expect(res.body).toBe(status === 204 ? '' : body);
        expect(res.keepAlive).toBe(true);
      }),
      { numRuns: Number(process.env.WARDEN_PROPERTY_RUNS ?? 500) },
    );
  });
});
