/** A response that is not HTTP/1.x, or breaks its framing: the check is down with this reason. */
export class HttpResponseError extends Error {}

/** Heads beyond this are refused: a health answer's status line and headers are a few hundred bytes. */
export const MAX_HEAD_BYTES = 16 * 1024;

const CONTENT_LENGTH = Buffer.from('content-length');
const TRANSFER_ENCODING = Buffer.from('transfer-encoding');
const CONNECTION = Buffer.from('connection');
const KEEP_ALIVE = Buffer.from('keep-alive');
const CLOSE = Buffer.from('close');
const HTTP_1 = Buffer.from('HTTP/1.');

type Framing = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'eof' | 'done';

/**
 * Reads one HTTP/1.1 response to a GET, fed the bytes as they arrive (RFC 9112: a status line,
 * headers, then a body framed by Transfer-Encoding: chunked, Content-Length or the end of the
 * connection; 1xx answers are skipped; 204 and 304 have none). Keeps at most `maxBody` bytes of
 * body: a longer one is judged on its head and the connection is not reused. Fed from a buffer
 * the caller reuses for every read, so whatever it keeps, it copies.
 */
export class Http1Response {
  statusCode = 0;
  /** Can the connection carry the next request once this response is complete? */
  keepAlive = false;
  /** The server's `Keep-Alive: timeout=N`, in ms (it closes idle connections after that), or null. */
  keepAliveHintMs: number | null = null;
  /** Were any bytes of this response seen yet (a reused connection that fails before them can be retried)? */
  started = false;

  private framing: Framing = 'head';
  private head: Buffer | null = null;
  /** CR and LF bytes skipped before the status line so far. */
  private blank = 0;
  private remaining = 0;
  private line = '';
  private chunks: Buffer[] = [];
  private size = 0;
  private text: string | null = null;

  constructor(private readonly maxBody: number) {}

  /** The body read (at most maxBody bytes), as UTF-8. */
  get body(): string {
    if (this.text === null) this.text = this.chunks.length === 1 ? this.chunks[0]!.toString('utf8') : Buffer.concat(this.chunks).toString('utf8');
    return this.text;
  }

  /** Feeds buf[start, end); true once the response is complete (or the body cap is reached). Throws HttpResponseError. */
  feed(buf: Buffer, start: number, end: number): boolean {
    let at = start;
    while (at < end || this.framing === 'done') {
      switch (this.framing) {
        case 'head':
          at = this.readHead(buf, at, end);
          break;
        case 'length':
        case 'chunk-data': {
          const take = Math.min(this.remaining, end - at);
          // The whole body in this one read (the usual health answer): decoded where it lies, not copied.
          if (this.framing === 'length' && take === this.remaining && this.size === 0 && take <= this.maxBody) {
            this.text = buf.toString('utf8', at, at + take);
            this.size = take;
          } else this.keep(buf, at, at + take);
          this.remaining -= take;
          at += take;
          if (this.remaining === 0) this.framing = this.framing === 'length' ? 'done' : 'chunk-end';
          if (this.size >= this.maxBody && this.framing !== 'done') return this.cut();
          break;
        }
        case 'chunk-size':
        case 'chunk-end':
        case 'trailers':
          at = this.readLine(buf, at, end);
          break;
        case 'eof':
          this.keep(buf, at, end);
          at = end;
          if (this.size >= this.maxBody) return this.cut();
          break;
        case 'done':
          // Bytes after the response (a server talking out of turn) would be read as the next one's.
          if (at < end) this.keepAlive = false;
          return true;
      }
    }
    return false;
  }

  /** The connection ended: true if that completes the response (a body read to the end), false if it was cut short. */
  finishOnEof(): boolean {
    if (this.framing === 'eof') {
      this.framing = 'done';
      return true;
    }
    return this.framing === 'done';
  }

  private readHead(buf: Buffer, start: number, end: number): number {
    let block = buf;
    let from = start;
    let to = end;
    // Empty lines before a status line are skipped, as llhttp is lenient to them (RFC 9112 §2.2 asks
    // it of servers reading requests); they are not the answer starting, so a reused connection
    // that sends only those and closes is still tried again. They count towards the head's limit,
    // so a server sending nothing else is told at once, not at the deadline.
    if (!this.head) {
      while (from < to && (buf[from] === 0x0d || buf[from] === 0x0a)) from++;
      this.blank += from - start;
      if (this.blank > MAX_HEAD_BYTES) throw new HttpResponseError('over 16 KiB of empty lines before the status line');
    }
    if (from === to) return end;
    this.started = true;
    // Only the bytes after the kept ones can complete the CRLFCRLF: a split head is not scanned anew.
    let scanFrom = from;
    if (this.head) {
      scanFrom = Math.max(0, this.head.length - 3);
      block = Buffer.concat([this.head, buf.subarray(start, end)]);
      from = 0;
      to = block.length;
    }
    const found = headEndOf(block, scanFrom, to);
    if (found < 0) {
      // Another protocol on the port (an SSH or Redis banner) is told at once, not at the deadline.
      if (to - from >= 12 && statusCodeOf(block, from, to) === null) this.parseHead(block, from, to);
      if (to - from > MAX_HEAD_BYTES) throw new HttpResponseError('response headers over 16 KiB');
      this.head = Buffer.from(block.subarray(from, to));
      return end;
    }
    this.head = null;
    const consumed = found + 4 - from; // of the block, of which the first head.length bytes were kept earlier
    this.parseHead(block, from, found);
    return end - (to - from - consumed);
  }

  /**
   * The status line and the four headers that frame a body, read from the bytes: a health answer
   * arrives 200 times a second, and a string, an array and a regex match per header line were a
   * good part of what a check allocated (issue 16). Other headers are skipped unread.
   */
  private parseHead(buf: Buffer, from: number, to: number): void {
    const code = statusCodeOf(buf, from, to);
    if (code === null) {
      const lineEnd = lineEndOf(buf, from, to);
      throw new HttpResponseError(`not an HTTP/1.x response: ${JSON.stringify(buf.toString('latin1', from, Math.min(lineEnd, from + 40)))}`);
    }
    const http11 = buf[from + 7] === 0x31;
    let length: number | null = null;
    let encoded = false;
    let chunked = false;
    let close = false;
    let keepAliveToken = false;
    let hintMs: number | null = null;
    for (let at = lineEndOf(buf, from, to) + 2; at < to; ) {
      const end = lineEndOf(buf, at, to);
      const colon = byteIn(buf, 0x3a, at, end);
      const n = colon - at;
      // Only four names matter, of lengths 10 (connection, keep-alive), 14 and 17: others are skipped unread.
      if (colon > at && (n === 10 || n === 14 || n === 17)) {
        let vs = colon + 1;
        let ve = end;
        while (vs < ve && (buf[vs] === 0x20 || buf[vs] === 0x09)) vs++;
        while (ve > vs && (buf[ve - 1] === 0x20 || buf[ve - 1] === 0x09)) ve--;
        if (nameIs(buf, at, CONTENT_LENGTH)) {
          const value = digits(buf, vs, ve);
          if (value === null || (length !== null && length !== value)) throw new HttpResponseError(`bad Content-Length: ${buf.toString('latin1', vs, Math.min(ve, vs + 40))}`);
          length = value;
        } else if (nameIs(buf, at, TRANSFER_ENCODING)) {
          encoded = true;
          chunked = /(?:^|,)\s*chunked\s*$/i.test(buf.toString('latin1', vs, ve));
        } else if (nameIs(buf, at, CONNECTION)) {
          if (isToken(buf, vs, ve, KEEP_ALIVE)) keepAliveToken = true;
          else if (isToken(buf, vs, ve, CLOSE)) close = true;
          else {
            const tokens = buf.toString('latin1', vs, ve).toLowerCase();
            if (/(?:^|,)\s*close\s*(?:,|$)/.test(tokens)) close = true;
            if (/(?:^|,)\s*keep-alive\s*(?:,|$)/.test(tokens)) keepAliveToken = true;
          }
        } else if (nameIs(buf, at, KEEP_ALIVE)) {
          const seconds = keepAliveTimeout(buf, vs, ve);
          if (seconds !== null) hintMs = seconds * 1000;
        }
      }
      at = end + 2;
    }
    if (code >= 100 && code < 200) {
      if (code === 101) throw new HttpResponseError('the server switched protocols');
      return; // an interim answer (100 Continue, 103 Early Hints): the real one follows, with its own headers
    }
    this.statusCode = code;
    this.keepAliveHintMs = hintMs;
    // Both Transfer-Encoding and Content-Length may be an attempt at response splitting (RFC 9112
    // §6.3 item 3), and Transfer-Encoding in HTTP/1.0 is faulty framing (§6.1): the body is read by
    // Transfer-Encoding, and the connection is not trusted with another request.
    this.keepAlive = !close && (http11 || keepAliveToken) && !(encoded && (length !== null || !http11));
    if (code === 204 || code === 304) this.framing = 'done';
    else if (chunked) this.framing = 'chunk-size';
    else if (length !== null && !encoded) {
      // Transfer-Encoding, when present, overrides Content-Length (RFC 9112 §6.3).
      this.remaining = length;
      this.framing = length === 0 ? 'done' : 'length';
    } else {
      // Another coding last, or no length at all: the body runs to the end of the connection.
      this.keepAlive = false;
      this.framing = 'eof';
    }
  }

  /** chunk-size, chunk-end and trailers are lines; a line split across reads is kept until its end. */
  private readLine(buf: Buffer, start: number, end: number): number {
    const nl = byteIn(buf, 0x0a, start, end);
    if (nl < 0) {
      this.line += buf.toString('latin1', start, end);
      if (this.line.length > 1024) throw new HttpResponseError('chunked body: a line over 1 KiB');
      return end;
    }
    const line = (this.line + buf.toString('latin1', start, nl)).replace(/\r$/, '');
    this.line = '';
    if (this.framing === 'chunk-end') {
      if (line !== '') throw new HttpResponseError('chunked body: no CRLF after a chunk');
      this.framing = 'chunk-size';
    } else if (this.framing === 'chunk-size') {
      const size = /^([0-9a-fA-F]{1,12})[ \t]*(?:;.*)?$/.exec(line);
      if (!size) throw new HttpResponseError(`chunked body: bad chunk size ${JSON.stringify(line.slice(0, 20))}`);
      this.remaining = parseInt(size[1]!, 16);
      this.framing = this.remaining === 0 ? 'trailers' : 'chunk-data';
    } else if (line === '') {
      this.framing = 'done'; // the empty line after the trailers
    }
    return nl + 1;
  }

  /** Copies buf[start, end) into the body, up to the cap. */
  private keep(buf: Buffer, start: number, end: number): void {
    const take = Math.min(end - start, this.maxBody - this.size);
    if (take <= 0) return;
    this.chunks.push(Buffer.from(buf.subarray(start, start + take)));
    this.size += take;
  }

  /** The body cap is reached: judged on what was read; the rest is never read, so the connection goes. */
  private cut(): boolean {
    this.keepAlive = false;
    this.framing = 'done';
    return true;
  }
}

/** "HTTP/1.0 200 …" or "HTTP/1.1 200…": the status code, or null when the line is not one. */
function statusCodeOf(buf: Buffer, from: number, to: number): number | null {
  if (to - from < 12 || buf.compare(HTTP_1, 0, 7, from, from + 7) !== 0) return null;
  const minor = buf[from + 7];
  if ((minor !== 0x30 && minor !== 0x31) || buf[from + 8] !== 0x20) return null;
  const code = digits(buf, from + 9, from + 12);
  const after = buf[from + 12];
  return code !== null && (to === from + 12 || after === 0x20 || after === 0x0d) ? code : null;
}

/**
 * Where the first CRLFCRLF in buf[from, to) starts, or -1. A loop rather than Buffer#indexOf: the
 * buffer is reused for every read, and indexOf, which has no end, would scan its stale bytes to
 * 64 KiB whenever a head is split across reads. A byte that is neither CR nor LF rules out the
 * next three positions as the sequence's last byte, so most bytes are skipped.
 */
function headEndOf(buf: Buffer, from: number, to: number): number {
  for (let i = from + 3; i < to; ) {
    const b = buf[i];
    if (b === 0x0a) {
      if (buf[i - 1] === 0x0d && buf[i - 2] === 0x0a && buf[i - 3] === 0x0d) return i - 3;
      i += 2;
    } else if (b === 0x0d) i += 1;
    else i += 4;
  }
  return -1;
}

/** Where `byte` first occurs in buf[from, to), or -1 (bounded, unlike indexOf: see headEndOf). */
function byteIn(buf: Buffer, byte: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === byte) return i;
  return -1;
}

/** Where the line starting at `at` ends (its CR), or `to`. */
function lineEndOf(buf: Buffer, at: number, to: number): number {
  const cr = byteIn(buf, 0x0d, at, to);
  return cr < 0 ? to : cr;
}

/** Does the header name at `at` equal `name` (lower-case ASCII), whatever its case? */
function nameIs(buf: Buffer, at: number, name: Buffer): boolean {
  if (buf[at + name.length] !== 0x3a) return false;
  for (let i = 0; i < name.length; i++) if ((buf[at + i]! | 0x20) !== name[i]) return false;
  return true;
}

/** Is buf[vs, ve) exactly this one token, whatever its case? */
function isToken(buf: Buffer, vs: number, ve: number, token: Buffer): boolean {
  if (ve - vs !== token.length) return false;
  for (let i = 0; i < token.length; i++) if ((buf[vs + i]! | 0x20) !== token[i]) return false;
  return true;
}

/** A decimal number of 1 to 15 digits, or null. */
function digits(buf: Buffer, vs: number, ve: number): number | null {
  if (ve <= vs || ve - vs > 15) return null;
  let value = 0;
  for (let i = vs; i < ve; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    value = value * 10 + d;
  }
  return value;
}

const TIMEOUT = Buffer.from('timeout');

/** `Keep-Alive: timeout=5, max=100` → 5 (seconds), read from the bytes; null when there is none. */
function keepAliveTimeout(buf: Buffer, vs: number, ve: number): number | null {
  for (let at = vs; at + TIMEOUT.length < ve; at++) {
    if (!isToken(buf, at, at + TIMEOUT.length, TIMEOUT) || (at > vs && buf[at - 1] !== 0x20 && buf[at - 1] !== 0x2c)) continue;
    let i = at + TIMEOUT.length;
    while (i < ve && buf[i] === 0x20) i++;
    if (buf[i] !== 0x3d) continue;
    i++;
    while (i < ve && buf[i] === 0x20) i++;
    let end = i;
    while (end < ve && buf[end]! >= 0x30 && buf[end]! <= 0x39) end++;
    return end - i <= 6 ? digits(buf, i, end) : null;
  }
  return null;
}
