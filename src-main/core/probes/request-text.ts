import type { Dispatcher } from 'undici';

/**
 * One request through `dispatcher`, its answer read as text up to `maxBytes` (the rest is dropped
 * and the connection closed): what a deep check and an alert channel need of an answer.
 */
export async function requestText(
  dispatcher: Dispatcher,
  url: string,
  opts: Pick<Dispatcher.RequestOptions, 'method' | 'body' | 'headers' | 'headersTimeout' | 'bodyTimeout'> & { signal: AbortSignal },
  maxBytes: number,
): Promise<{ status: number; body: string }> {
  const { origin, pathname, search } = new URL(url);
  const res = await dispatcher.request({ origin, path: pathname + search, ...opts });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= maxBytes) {
      res.body.destroy();
      break;
    }
  }
  return { status: res.statusCode, body: Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8') };
}
