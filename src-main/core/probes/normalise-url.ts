/**
 * Parses a health URL and cleans its path: duplicate slashes collapse and a trailing slash is
 * dropped, so "http://h:8090//health/" asks for "/health" (a stray slash once meant 404 → restarts
 * of a healthy service). The root stays "/"; the query string is kept. Throws TypeError if invalid.
 */
export function normaliseUrl(raw: string): URL {
  const url = new URL(raw.trim());
  let path = url.pathname.replace(/\/{2,}/g, '/');
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  url.pathname = path;
  return url;
}

/** The request target (path and query) of a normalised URL: what goes on the HTTP request line. */
export function requestTarget(url: URL): string {
  return url.pathname + url.search;
}
