import type { IncomingMessage } from 'node:http';

/** A request body read in full, or why it was refused. */
export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; error: string };

/**
 * Read and parse a JSON body of at most `limit` bytes. A body announced or found to be larger is
 * refused with 413 at once; the rest is discarded as it arrives, never buffered. With
 * `allowEmpty`, no body at all is `undefined` rather than invalid JSON.
 */
export function readJsonBody(req: IncomingMessage, limit: number, opts: { allowEmpty?: boolean } = {}): Promise<BodyResult> {
  const tooLarge: BodyResult = { ok: false, status: 413, error: `request body larger than ${limit} bytes` };
  const announced = Number(req.headers['content-length']);
  if (Number.isFinite(announced) && announced > limit) {
    req.resume();
    return Promise.resolve(tooLarge);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult) => {
      req.off('data', onData).off('end', onEnd).off('error', onError);
      // Still flowing with no listener: whatever else arrives is dropped.
      req.resume();
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(tooLarge);
      else chunks.push(chunk);
    };
    const onEnd = () => {
      // An optional body: none at all reads as undefined.
      if (opts.allowEmpty && size === 0) return finish({ ok: true, value: undefined });
      try {
        finish({ ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown });
      } catch {
        finish({ ok: false, status: 400, error: 'invalid JSON' });
      }
    };
    const onError = () => finish({ ok: false, status: 400, error: 'request aborted' });
    req.on('data', onData).on('end', onEnd).on('error', onError);
  });
}
