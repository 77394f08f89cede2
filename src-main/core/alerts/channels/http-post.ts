import type { Dispatcher } from 'undici';
import { requestText } from '../../probes/request-text.js';

/** POST and read the answer (at most 4 KiB of it); anything but 2xx throws "HTTP 503: <first line>". */
export async function postOk(dispatcher: Dispatcher, url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<void> {
  const res = await requestText(dispatcher, url, { method: 'POST', headers, body, signal, headersTimeout: 15_000, bodyTimeout: 15_000 }, 4096);
  if (res.status < 200 || res.status > 299) {
    const line = res.body.trim().split('\n', 1)[0] ?? '';
    throw new Error(`HTTP ${res.status}${line ? `: ${line.length > 120 ? `${line.slice(0, 117)}...` : line}` : ''}`);
  }
}
