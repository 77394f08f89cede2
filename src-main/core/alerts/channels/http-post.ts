import type { Dispatcher } from 'undici';

/** POST and read the answer (at most 4 KiB of it); anything but 2xx throws "HTTP 503: <first line>". */
export async function postOk(dispatcher: Dispatcher, url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<void> {
  const { origin, pathname, search } = new URL(url);
  const res = await dispatcher.request({ origin, path: pathname + search, method: 'POST', headers, body, signal, headersTimeout: 15_000, bodyTimeout: 15_000 });
  let text = '';
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (text.length < 4096) text += chunk.toString('utf8');
  }
  if (res.statusCode < 200 || res.statusCode > 299) {
    const line = text.trim().split('\n', 1)[0] ?? '';
    throw new Error(`HTTP ${res.statusCode}${line ? `: ${line.length > 120 ? `${line.slice(0, 117)}...` : line}` : ''}`);
  }
}
