/**
 * Chaos: hostile bodies, queries and headers against the real server over HTTP (FHIR R4 http.html
 * "HTTP Status Codes", operationoutcome.html; SMART App Launch 2.0.0 for the token-protected run).
 *
 * The real server runs as a child process on a file database, once with AUTH_MODE=off and once with
 * SMART on (tokens from its built-in authorization server). fast-check sends generated requests
 * (support/hostile-requests.ts) and checks each answer (support/invariants.ts): never a 5xx other
 * than 503, every error an OperationOutcome with issues, no stack traces or internals, an answer
 * within the per-request hang bound; a resource the server says it created or updated reads back.
 * Every few cases and at the end, the canaries (support/world.ts) must be intact and GET /metadata
 * must answer. A failure prints the seed, the fast-check path, the request, the answer and the
 * server's log lines for that request id.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { CHAOS, SHARES, checkProperty, tally, tallyStatus, timeoutFor } from './support/budget';
import { RequestTimeout, send, type RawRequest, type RawResponse } from './support/http-client';
import { requestArb, toRawRequest, withCurrentVersion, type RequestSpec } from './support/hostile-requests';
import { assertNoProblems, describeRequest, describeResponse, failureSignature, problemsOf } from './support/invariants';
import { startServerProcess, type ServerProcess } from './support/server-process';
import { backendToken, patientToken, writeBackendClient } from './support/smart';
import { buildWorld, canaryProblems, type StoredWorld } from './support/world';
import { CORPUS } from './support/corpus';

const FILE = 'dist/test/chaos/hostile-inputs.test.js';
/** Canaries are checked every this many cases. */
const CANARY_EVERY = 25;

interface Target {
  server: ServerProcess;
  stored: StoredWorld;
  tokens: { system?: string; patient?: string };
}

/** Sends one request and returns the problems of its answer (with the server's log lines for it). */
export async function exchange(server: ServerProcess, req: RawRequest, suite: string): Promise<{ res?: RawResponse; problems: string[] }> {
  let res: RawResponse;
  try {
    res = await send(server.origin, req);
  } catch (e) {
    if (e instanceof RequestTimeout) return { problems: [e.message] };
    // The server may refuse a malformed request by closing the connection (e.g. an oversized header
    // section while the body is still being sent); it must still be alive.
    if (server.hasExited()) return { problems: [`the server process exited: ${server.errors().slice(-5).join('\n')}`] };
    tally(suite, `connection closed without an answer (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    return { problems: [] };
  }
  // The authorization server's endpoints answer OAuth JSON errors and HTML pages, not OperationOutcomes.
  const problems = problemsOf(req, res, { fhir: !req.target.startsWith('/auth/') });
  if (problems.length > 0) {
    // The server logs before it answers, but its output reaches us through a pipe: give it a moment.
    await new Promise((r) => setTimeout(r, 200));
    const id = String(res.headers['x-request-id'] ?? '');
    const logs = id ? server.logFor(id) : [];
    problems.push(`request: ${describeRequest(req)}`, `answer: ${describeResponse(res)}`, ...(logs.length ? [`server log for ${id}:\n${logs.map((l) => l.slice(0, 3000)).join('\n')}`] : []));
  }
  return { res, problems };
}

/** The message of the error the server logged for a request id (for the summary), if any. */
export function loggedError(server: ServerProcess, requestId: string): string | undefined {
  for (const line of server.logFor(requestId)) {
    try {
      const l = JSON.parse(line) as { level?: number; err?: { message?: string; type?: string } };
      if ((l.level ?? 0) >= 50 && l.err) return `${l.err.type ?? 'Error'}: ${(l.err.message ?? '').slice(0, 160)}`;
    } catch {
      // not a JSON log line
    }
  }
  return undefined;
}

async function readBack(t: Target, spec: RequestSpec, res: RawResponse, req: RawRequest, suite: string): Promise<string[]> {
  // A create answers 201 (PDS-style duplicate checks answer 200 with an OperationOutcome); an update 200 or 201.
  if (!((spec.kind === 'create' && res.status === 201) || (spec.kind === 'update' && (res.status === 200 || res.status === 201)))) return [];
  if (res.text.includes('"resourceType":"OperationOutcome"')) return [];
  const location = String(res.headers['location'] ?? res.headers['content-location'] ?? '');
  const m = /\/fhir\/([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/\d+)?$/.exec(location);
  if (!m) return [`${spec.method} answered ${res.status} without a usable Location (${location})`];
  const readReq: RawRequest = { method: 'GET', target: `/fhir/${m[1]}`, headers: t.tokens.system && spec.auth.kind !== 'none' ? { Authorization: `Bearer ${spec.auth.kind === 'patient' && t.tokens.patient ? t.tokens.patient : t.tokens.system}` } : {} };
  const back = await exchange(t.server, readReq, suite);
  if (back.problems.length > 0) return [`reading back ${m[1]}:`, ...back.problems];
  if (back.res && back.res.status !== 200 && back.res.status !== 403 && back.res.status !== 404) return [`${describeRequest(req, 300)}\nanswered ${res.status} but reading ${m[1]} back answers ${back.res.status}: ${back.res.text.slice(0, 300)}`];
  return [];
}

function hostileSuite(mode: 'off' | 'smart'): void {
  const suite = `hostile inputs, AUTH_MODE=${mode}`;
  describe(`AUTH_MODE=${mode}`, function () {
    const share = mode === 'off' ? SHARES.hostileOff : SHARES.hostileSmart;
    this.timeout(timeoutFor(share, 120_000));
    let dir: string;
    let t: Target | undefined;

    before(async function () {
      this.timeout(120_000);
      dir = fs.mkdtempSync(path.join(os.tmpdir(), `chaos-hostile-${mode}-`));
      const client = mode === 'smart' ? writeBackendClient(dir) : undefined;
      // The suite is one address sending thousands of bad tokens and credentials: the throttling
      // (tested on its own in test/security/throttling.test.ts) would soon answer its canaries 429.
      // Its failure budgets are raised here so that everything else stays observable.
      const unthrottled = { AUTH_FAILURES_PER_MINUTE: '100000000', AUTH_CLIENT_FAILURES_PER_MINUTE: '100000000' };
      const server = await startServerProcess({ dataDir: dir, env: { AUTH_MODE: mode, ...(client ? { AUTH_CLIENTS_FILE: client.clientsFile, ...unthrottled } : {}) } });
      const tokens: Target['tokens'] = {};
      if (client) tokens.system = await backendToken(server.origin, client);
      const stored = await buildWorld(server.origin, tokens.system ? { Authorization: `Bearer ${tokens.system}` } : {});
      if (mode === 'smart') tokens.patient = patientToken(dir, stored.canaries.patients[0]);
      t = { server, stored, tokens };
      assert.deepEqual(await canaryProblems(server.origin, stored.canaries, tokens), []);
    });

    after(async () => {
      await t?.server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('answers every hostile request without a 5xx, with an OperationOutcome for every error, no internals, and keeps answering', async () => {
      const target = t!;
      let cases = 0;
      await checkProperty(
        `${mode}: hostile requests`,
        requestArb(target.stored.world),
        async (generated) => {
          const spec = await withCurrentVersion(generated, target.server.origin, target.tokens);
          const req = toRawRequest(spec, target.tokens);
          tally(suite, `requests: ${spec.kind}`);
          const { res, problems } = await exchange(target.server, req, suite);
          if (res) tallyStatus(suite, res.status);
          if (res && res.status >= 500) tally(suite, `5xx on ${spec.kind}: ${loggedError(target.server, String(res.headers['x-request-id'] ?? '')) ?? '(no log line)'}`);
          if (res && problems.length === 0) problems.push(...(await readBack(target, spec, res, req, suite)));
          if (++cases % CANARY_EVERY === 0 || problems.length > 0) {
            const c = await canaryProblems(target.server.origin, target.stored.canaries, target.tokens);
            tally(suite, 'canary checks');
            if (c.length > 0) problems.push(`after ${describeRequest(req, 300)}:`, ...c);
          }
          assertNoProblems(problems, `${spec.kind} request`);
        },
        { suite, share: share * 0.85, shortRuns: mode === 'off' ? 250 : 200, grep: `AUTH_MODE=${mode} answers every hostile`, file: FILE, signature: failureSignature, show: (s) => describeRequest(toRawRequest(s, { system: '<system token>', patient: '<patient token>' }), 1500) },
      );
      assert.deepEqual(await canaryProblems(target.server.origin, target.stored.canaries, target.tokens), [], 'the canaries after the run');
      assert.deepEqual(target.server.errors().filter((l) => /"level":60|^Fatal/.test(l)), [], 'fatal log lines');
    });

    for (const entry of CORPUS) {
      it(`corpus: ${entry.name} (${entry.where.split(' ')[0]!.replace(':', '')})`, async () => {
        const target = t!;
        const withToken = (r: RawRequest): RawRequest => ({ ...r, headers: { ...(r.headers ?? {}), ...(target.tokens.system ? { Authorization: `Bearer ${target.tokens.system}` } : {}) } });
        for (const setup of entry.setup ?? []) {
          const s = await send(target.server.origin, withToken(setup));
          assert.ok(s.status >= 200 && s.status < 300, `the corpus setup ${setup.method} ${setup.target} answered ${s.status}: ${s.text.slice(0, 300)}`);
        }
        const { problems } = await exchange(target.server, withToken(entry.request), suite);
        if (entry.after) problems.push(...(await exchange(target.server, withToken(entry.after), suite)).problems);
        assertNoProblems(problems, `${entry.name} [${entry.where}]`);
      });
    }

    if (mode === 'smart') {
      it('answers hostile requests to the authorization server without a 5xx or internals', async () => {
        const target = t!;
        const endpoint = fc.constantFrom('/auth/token', '/auth/introspect', '/auth/revoke', '/auth/authorize', '/auth/login', '/auth/pick', '/auth/picker', '/auth/launch', '/auth/jwks', '/auth/.well-known/openid-configuration');
        const field = fc.tuple(
          fc.constantFrom('grant_type', 'client_id', 'scope', 'code', 'code_verifier', 'redirect_uri', 'refresh_token', 'client_assertion', 'client_assertion_type', 'token', 'response_type', 'state', 'aud', 'code_challenge', 'code_challenge_method', 'launch', 'tx', 'csrf', 'username', 'password', 'patient', '__proto__', 'constructor'),
          fc.oneof(fc.constantFrom('client_credentials', 'authorization_code', 'refresh_token', 'chaos-backend', 'dev-public-client', 'system/*.cruds', 'patient/*.* launch/patient', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', 'eyJhbGciOiJub25lIn0.e30.', 'code', 'S256', 'plain', target.tokens.system ?? 'x', ''), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('x'.repeat(70_000), '%', '%ZZ')),
        );
        const arb = fc.record({ endpoint, method: fc.constantFrom('GET', 'POST', 'PUT', 'OPTIONS'), fields: fc.array(field, { maxLength: 8 }), contentType: fc.constantFrom('application/x-www-form-urlencoded', 'application/json', 'text/plain', ''), inQuery: fc.boolean(), cookie: fc.constantFrom('', 'smart_auth=' + 'A'.repeat(43), 'smart_auth=%00', 'smart_auth=') });
        await checkProperty(
          'smart: hostile authorization server requests',
          arb,
          async (r) => {
            const form = r.fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
            const req: RawRequest = {
              method: r.method,
              target: r.inQuery || r.method === 'GET' ? `${r.endpoint}?${form}` : r.endpoint,
              headers: { ...(r.contentType ? { 'Content-Type': r.contentType } : {}), ...(r.cookie ? { Cookie: r.cookie } : {}) },
              ...(r.method !== 'GET' && !r.inQuery ? { body: form } : {}),
            };
            tally(suite, `auth server requests: ${r.endpoint}`);
            let res: RawResponse;
            try {
              res = await send(target.server.origin, req);
            } catch (e) {
              if (e instanceof RequestTimeout) throw e;
              assert.ok(!target.server.hasExited(), 'the server process exited');
              return;
            }
            tallyStatus(suite, res.status);
            // OAuth endpoints answer RFC 6749 JSON errors or HTML pages, not OperationOutcomes.
            const problems = problemsOf(req, res, { fhir: false });
            assertNoProblems(problems, `${describeRequest(req)}\n${describeResponse(res)}`);
            // (431 and 400 for what the HTTP parser refused come before routing, as FHIR OperationOutcomes.)
            if (res.status >= 400 && res.status !== 431 && !res.text.includes('"OperationOutcome"') && /json/.test(String(res.headers['content-type'])) && req.target.startsWith('/auth/token')) {
              assert.equal(typeof (JSON.parse(res.text) as { error?: unknown }).error, 'string', `an RFC 6749 error body: ${res.text.slice(0, 300)}`);
            }
          },
          { suite, share: share * 0.15, shortRuns: 60, grep: 'answers hostile requests to the authorization server', file: FILE },
        );
        assert.deepEqual(await canaryProblems(target.server.origin, target.stored.canaries, target.tokens), []);
      });
    }
  });
}

describe('Chaos: hostile bodies, queries and headers', function () {
  if (CHAOS.full) this.timeout(0);
  hostileSuite('off');
  hostileSuite('smart');
});
