import { useCallback, useState } from 'react';

/** What an action button says once its request has answered. */
export type Feedback = { kind: 'ok' | 'error'; text: string } | null;

/** The part of an API answer the feedback needs (ApiResult fits). */
export type ActionAnswer = { status: number; body: { message?: string; error?: string } | null };

/**
 * One button's request state: busy while it runs, then "done" or the server's own words (its
 * message, else its error code, else the HTTP status). Never rejects, so callers can chain on it.
 */
export function useActionFeedback() {
  const [busy, setBusy] = useState(false);
  const [feedback, setFeedback] = useState<Feedback>(null);
  const run = useCallback(async (label: string, call: () => Promise<ActionAnswer>, done: string): Promise<void> => {
    setBusy(true);
    setFeedback(null);
    try {
      const r = await call();
      if (r.status >= 200 && r.status < 300) setFeedback({ kind: 'ok', text: done });
      else setFeedback({ kind: 'error', text: r.body?.message ?? r.body?.error ?? `${label} failed (HTTP ${r.status})` });
    } catch {
      setFeedback({ kind: 'error', text: `${label} failed: Warden is not reachable` });
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, feedback, run };
}
