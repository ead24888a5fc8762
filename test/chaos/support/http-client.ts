/**
 * A raw HTTP/1.1 client for the chaos suites (RFC 9112 message syntax): sends exactly the method,
 * request target (path and an already-encoded query, garbage included), headers and body bytes it is
 * given, with a hard per-request deadline, and returns status, headers, body text and elapsed time.
 * `fetch` normalises and refuses too much to send hostile requests; node:http is used with a fresh
 * connection per request, so a request the server drops cannot poison the next one.
 */
import http from 'node:http';

export interface RawRequest {
  method: string;
  /** Path and query as sent on the request line, e.g. `/fhir/Patient?name=%ZZ`. */
  target: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  ms: number;
}

/** The request did not complete within the deadline (the server hangs or is blocked). */
export class RequestTimeout extends Error {
  constructor(
    readonly request: RawRequest,
    readonly timeoutMs: number,
  ) {
    super(`no answer within ${timeoutMs} ms to ${request.method} ${request.target.slice(0, 200)}`);
    this.name = 'RequestTimeout';
  }
}

/** The default deadline of one request: a generous hang bound, never a performance assertion. */
export const REQUEST_TIMEOUT_MS = 15_000;

export function send(origin: string, req: RawRequest, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RawResponse> {
  const url = new URL(origin);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (f: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      f();
    };
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'utf8');
    const headers: Record<string, string | string[]> = { ...(req.headers ?? {}) };
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['Content-Length'] = String(body.length);
    const r = http.request({ host: url.hostname, port: url.port, method: req.method, path: req.target, headers, agent: false, insecureHTTPParser: true }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started })));
      res.on('error', (e) => finish(() => reject(e)));
    });
    const timer = setTimeout(() => {
      finish(() => reject(new RequestTimeout(req, timeoutMs)));
      r.destroy();
    }, timeoutMs);
    r.on('error', (e) => finish(() => reject(e)));
    if (body !== undefined) r.end(body);
    else r.end();
  });
}

/** GET with JSON parsing of the answer (helpers of the model-checking suites). */
export async function getJson(origin: string, target: string, headers: Record<string, string> = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: unknown; text: string }> {
  const res = await send(origin, { method: 'GET', target, headers: { Accept: 'application/fhir+json', ...headers } }, timeoutMs);
  return { status: res.status, headers: res.headers, body: parseOrUndefined(res.text), text: res.text };
}

/** A request with a JSON body (Content-Type application/fhir+json unless given). */
export async function sendJson(origin: string, method: string, target: string, body: unknown, headers: Record<string, string> = {}, timeoutMs = REQUEST_TIMEOUT_MS): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: unknown; text: string }> {
  const res = await send(origin, { method, target, headers: { 'Content-Type': 'application/fhir+json', Accept: 'application/fhir+json', ...headers }, body: JSON.stringify(body) }, timeoutMs);
  return { status: res.status, headers: res.headers, body: parseOrUndefined(res.text), text: res.text };
}

export function parseOrUndefined(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Runs `tasks` with at most `limit` in flight; results in order. */
export async function pool<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      await task(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
