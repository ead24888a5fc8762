/**
 * What every answer of the server must be, whatever was sent (FHIR R4 http.html "HTTP Status Codes"
 * and operationoutcome.html; the project's error rules in src/fhir/outcome.ts):
 *
 * - never a 5xx, except 503 (`busy`, documented for overload: the client may retry);
 * - every error (status >= 400) carries an OperationOutcome with at least one issue, each issue
 *   with a severity and a code, in JSON or, when the request asked for XML, in FHIR XML;
 * - a 2xx/3xx body, when there is one, is JSON or FHIR XML (read by the server's own XML reader);
 * - no internals: no stack frames, file paths of the server, engine error class names or SQLite
 *   messages, unless the request itself contained that text (a diagnostic may quote the request).
 *
 * `problemsOf` returns the broken rules as sentences (empty: the answer is fine).
 */
import type { RawRequest, RawResponse } from './http-client';
import { readFhirXml } from '../../../src/formats/xml';

const XML_TYPE = /^(?:application\/(?:fhir\+)?xml|text\/xml)\b/;
/** The HTML view for browsers (src/http/html-view.ts): a page, never a script; an error names its status. */
const HTML_TYPE = /^text\/html\b/;

/** Statuses a server may answer under overload (documented: 503 with Retry-After, `busy`). */
export const ALLOWED_5XX: ReadonlySet<number> = new Set([503]);

const LEAK_MARKERS: ReadonlyArray<[string, RegExp]> = [
  ['a stack frame', /(?:\n|\\n)\s*at (?:async )?[\w$.<>[\] ]+ \(|\bat (?:async )?[\w$.<>]+ \((?:\/|node:|file:)[^)]*:\d+:\d+\)/],
  ['a node internal path', /node:internal|\(node:\w+/],
  ['a server file path', /\/dist\/(?:src|test)\/|\/node_modules\/|\.(?:ts|js):\d+:\d+/],
  ['an engine error class', /\b(?:TypeError|ReferenceError|RangeError|SyntaxError: Unexpected|SqliteError|MongoServerError|AggregateError)\b/],
  ['a SQLite message', /\bSQLITE_[A-Z]+|no such (?:table|column)|near "[^"]*": syntax error/],
  ['a JavaScript undefined leak', /\b(?:Cannot read propert(?:y|ies) of (?:undefined|null)|is not a function|is not iterable|Maximum call stack)\b/],
];

export interface OutcomeIssue {
  severity?: unknown;
  code?: unknown;
  diagnostics?: unknown;
}

function asText(req: RawRequest): string {
  const headerText = Object.entries(req.headers ?? {})
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : v}`)
    .join('\n');
  let target = req.target;
  try {
    target = `${target}\n${decodeURIComponent(target.replace(/\+/g, ' '))}`;
  } catch {
    // undecodable: the raw target is what the server saw
  }
  const body = req.body === undefined ? '' : Buffer.isBuffer(req.body) ? req.body.toString('utf8') : req.body;
  return `${req.method} ${target}\n${headerText}\n${body}`;
}

export interface RuleOptions {
  /**
   * Whether the FHIR body rules apply (JSON bodies, OperationOutcome errors); default true. The
   * OAuth endpoints of the authorization server answer RFC 6749 JSON errors and HTML pages instead:
   * only the status and internals rules apply there.
   */
  fhir?: boolean;
}

/** The rules `res` breaks as the answer to `req`. */
export function problemsOf(req: RawRequest, res: RawResponse, opts: RuleOptions = {}): string[] {
  const fhir = opts.fhir ?? true;
  const problems: string[] = [];
  if (res.status >= 500 && !ALLOWED_5XX.has(res.status)) problems.push(`answered ${res.status}`);
  if (res.status < 100 || res.status > 599) problems.push(`answered the invalid status ${res.status}`);
  const isHead = req.method.toUpperCase() === 'HEAD';
  const hasBody = res.text.length > 0;
  let parsed: unknown;
  const xml = XML_TYPE.test(String(res.headers['content-type'] ?? ''));
  const html = HTML_TYPE.test(String(res.headers['content-type'] ?? ''));
  if (hasBody && fhir && html) {
    if (!res.text.startsWith('<!DOCTYPE html>')) problems.push(`answered ${res.status} with text/html that is not a page: ${JSON.stringify(res.text.slice(0, 200))}`);
    if (/<script|<[a-z][^>]*\son[a-z]+\s*=/i.test(res.text)) problems.push(`answered ${res.status} with an HTML page carrying a script or an event attribute`);
    if (!/default-src 'none'/.test(String(res.headers['content-security-policy'] ?? ''))) problems.push(`answered ${res.status} with an HTML page without its Content-Security-Policy`);
    if (res.status >= 400 && !res.text.includes(`<h1>Error ${res.status}</h1>`)) problems.push(`answered ${res.status} with an HTML page that does not show the error`);
  } else if (hasBody && fhir && xml) {
    try {
      parsed = readFhirXml(res.text).value;
    } catch (e) {
      problems.push(`answered ${res.status} with a body that is not FHIR XML (${(e as Error).message}): ${JSON.stringify(res.text.slice(0, 200))}`);
    }
  } else if (hasBody && fhir) {
    try {
      parsed = JSON.parse(res.text);
    } catch {
      problems.push(`answered ${res.status} with a body that is not JSON: ${JSON.stringify(res.text.slice(0, 200))}`);
    }
  }
  if (res.status >= 400 && !isHead && fhir && !html) {
    const oo = parsed as { resourceType?: unknown; issue?: unknown } | undefined;
    if (!hasBody) problems.push(`answered ${res.status} without a body (expected an OperationOutcome)`);
    else if (parsed !== undefined && (typeof oo !== 'object' || oo === null || oo.resourceType !== 'OperationOutcome')) {
      problems.push(`answered ${res.status} with a ${String((oo as { resourceType?: unknown } | null)?.resourceType ?? typeof parsed)} instead of an OperationOutcome`);
    } else if (parsed !== undefined) {
      const issues = oo!.issue;
      if (!Array.isArray(issues) || issues.length === 0) problems.push(`answered ${res.status} with an OperationOutcome without issues`);
      else if (issues.some((i: OutcomeIssue) => typeof i?.severity !== 'string' || typeof i?.code !== 'string')) problems.push(`answered ${res.status} with an OperationOutcome issue lacking severity or code`);
    }
    const type = String(res.headers['content-type'] ?? '');
    if (hasBody && !/^application\/(fhir\+)?json\b/.test(type) && !XML_TYPE.test(type)) problems.push(`answered ${res.status} with Content-Type ${JSON.stringify(type)}`);
  }
  if (hasBody) {
    const sent = asText(req);
    for (const [what, re] of LEAK_MARKERS) {
      const m = re.exec(res.text);
      if (m && !re.test(sent)) problems.push(`the answer shows ${what}: ${JSON.stringify(res.text.slice(Math.max(0, m.index - 60), m.index + 120))}`);
    }
  }
  return problems;
}

/** A short description of a request for failure reports (long values cut). */
export function describeRequest(req: RawRequest, max = 600): string {
  const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}... (${s.length} chars)` : s);
  const headers = Object.entries(req.headers ?? {}).map(([k, v]) => `  ${k}: ${cut(Array.isArray(v) ? v.join(' | ') : v, 200)}`);
  const body = req.body === undefined ? '' : `\n  body: ${cut(Buffer.isBuffer(req.body) ? req.body.toString('utf8') : req.body, max)}`;
  return `${req.method} ${cut(req.target, max)}${headers.length ? `\n${headers.join('\n')}` : ''}${body}`;
}

/** A short description of a response for failure reports. */
export function describeResponse(res: RawResponse, max = 600): string {
  return `${res.status} (${res.ms} ms) ${String(res.headers['content-type'] ?? '')}: ${res.text.length > max ? `${res.text.slice(0, max)}... (${res.text.length} chars)` : res.text}`;
}

/** Throws one readable error listing `problems` (none: returns). */
export function assertNoProblems(problems: readonly string[], what: string): void {
  if (problems.length === 0) return;
  throw new Error(`${what}:\n  - ${problems.map((p) => p.replace(/\n/g, '\n    ')).join('\n  - ')}`);
}

/** What makes two failures the same defect: the broken rule and the error the server logged. */
export function failureSignature(message: string): string {
  const rule = /- (answered \d+|the answer shows [a-z ]+|no answer within|the server process exited|answered \d+ with[a-zA-Z ]+|[A-Z][a-zA-Z ]+reads differently|a patient token[a-z ]+|GET \/metadata answered \d+)/.exec(message)?.[1] ?? message.split('\n').find((l) => l.trim().startsWith('-'))?.trim().slice(0, 60) ?? 'failure';
  const logged = /\\?"err\\?":\{\\?"type\\?":\\?"(\w+)\\?",\\?"message\\?":\\?"([^"\\]{0,80})/.exec(message);
  return logged ? `${rule}: ${logged[1]}: ${logged[2]}` : rule;
}
