/**
 * A small TestScript engine (FHIR R4 testscript.html, TestScript resource; results in the spirit of
 * testreport.html): runs a TestScript's fixtures, variables, setup, tests and teardown against a
 * FHIR server reached through a `Transport` (supertest over the in-process app in the suites).
 *
 * Supported: fixtures (resource.reference to JSON files relative to the script; autocreate,
 * autodelete), variables (defaultValue, expression, path, headerField, sourceId, tester-supplied
 * values) with `${name}` substitution, operations (type codes read, vread, create, update, delete,
 * patch, history, search, capabilities, transaction, batch; method, resource, params, url,
 * targetId, sourceId, responseId, requestId, requestHeader, accept, contentType, encodeRequestUrl),
 * asserts (response, responseCode, resource, contentType, headerField, requestURL, requestMethod,
 * expression (FHIRPath over fhirpath.js's R4 model) and path (XPath 1.0 over the FHIR XML of the
 * resource, by `xpath` over @xmldom/xmldom with the prefix `fhir` bound to http://hl7.org/fhir and
 * `h`/`xhtml` to XHTML; an unprefixed simple path such as `Patient/id`, a shorthand some scripts use,
 * is read as FHIR element steps), value or compareToSourceId/Expression/Path, every operator,
 * minimumId, navigationLinks, validateProfileId through a caller-supplied validator, warningOnly).
 * Formats: JSON and FHIR XML (xml.html); an XML request body is the fixture written by the server's
 * XML writer (src/formats/xml), an XML response is read into JSON by its reader for expressions and
 * kept as text for XPath. Formats the server does not speak (`serverFormats`) are replaced by the
 * first it does, and asserts on them reported as `unsupported`.
 * Not supported, and reported as `unsupported` rather than passed: Turtle, contained or remote
 * fixtures, origin/destination beyond one server, operation codes outside the list above, profiles
 * the validator does not know, JSONPath.
 *
 * Execution: a failed (non-warningOnly) assert or an operation that cannot be sent stops its phase;
 * the remaining actions are reported as `skip`. A failed setup means no test can run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { evaluate } from 'fhirpath';
import request from 'supertest';
type App = Parameters<typeof request>[0];
import type {
  TestScript,
  TestScriptSetupAction,
  TestScriptSetupActionAssert,
  TestScriptSetupActionOperation,
  TestScriptTest,
  TestScriptVariable,
} from 'fhir/r4';
import * as r4Model from 'fhirpath/fhir-context/r4';
import { DOMParser } from '@xmldom/xmldom';
import * as xpath from 'xpath';
import { isXmlMediaType, readFhirXml, writeFhirXml } from '../../src/formats/xml';
import { bareMediaType, compare, isOperator, mediaTypeOf, minimumIdDifferences, RESPONSE_CODES, xpathToFhirPath, type AssertOperator } from './testscript/operators';
import { substitute, UnresolvedVariableError } from './testscript/variables';

// ---------------------------------------------------------------------------------------------
// Transport

export interface RunnerRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';
  /** Path below the FHIR base, starting with `/`, query included. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface RunnerResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  text: string;
  /** The parsed JSON body, when the body is JSON. */
  body?: unknown;
}

export type Transport = (req: RunnerRequest) => Promise<RunnerResponse>;

/** Sends requests to an in-process app with supertest; `basePath` is the FHIR base (e.g. `/fhir`). */
export function supertestTransport(app: App, basePath: string): Transport {
  return async (req) => {
    const url = `${basePath}${req.path === '/' ? '' : req.path}`;
    const agent = request(app);
    let test: request.Test;
    switch (req.method) {
      case 'GET':
        test = agent.get(url);
        break;
      case 'POST':
        test = agent.post(url);
        break;
      case 'PUT':
        test = agent.put(url);
        break;
      case 'PATCH':
        test = agent.patch(url);
        break;
      case 'DELETE':
        test = agent.delete(url);
        break;
      case 'HEAD':
        test = agent.head(url);
        break;
      case 'OPTIONS':
        test = agent.options(url);
        break;
    }
    for (const [k, v] of Object.entries(req.headers)) test = test.set(k, v);
    if (req.body !== undefined) test = test.send(req.body);
    const res = await test.buffer(true).parse((r, done) => {
      let text = '';
      r.setEncoding('utf8');
      r.on('data', (chunk: string) => (text += chunk));
      r.on('end', () => done(null, text));
    });
    const text = typeof res.body === 'string' ? res.body : '';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers as Record<string, string | string[] | undefined>)) {
      if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    return { status: res.status, headers, text, body: parseBody(text, headers['content-type']) };
  };
}

/** The resource of a body: JSON, or FHIR XML read into JSON (undefined when it is neither). */
export function parseBody(text: string, contentType: string | undefined): unknown {
  if (isXmlMediaType(bareMediaType(contentType) ?? '')) {
    try {
      return readFhirXml(text).value;
    } catch {
      return undefined;
    }
  }
  return parseJson(text);
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Reports

/** pass, fail, warning (a warningOnly assert failed), unsupported (not evaluated), error (not executable), skip (not reached). */
export type Outcome = 'pass' | 'fail' | 'warning' | 'unsupported' | 'error' | 'skip';

export interface ActionReport {
  kind: 'fixture' | 'operation' | 'assert';
  label: string;
  outcome: Outcome;
  message: string;
}

export interface PhaseReport {
  name: string;
  /** fail when an action failed or errored; else unsupported when an action was not evaluated; else pass. */
  outcome: 'pass' | 'fail' | 'unsupported';
  actions: ActionReport[];
}

/** A readable multi-line account of a phase, one line per action. */
export function formatPhase(report: PhaseReport, indent = '  '): string {
  return [`${indent}${report.name}: ${report.outcome}`, ...report.actions.map((a) => `${indent}  [${a.outcome}] ${a.kind} ${a.label}: ${a.message}`)].join('\n');
}

function phaseOutcome(actions: ActionReport[]): PhaseReport['outcome'] {
  if (actions.some((a) => a.outcome === 'fail' || a.outcome === 'error')) return 'fail';
  if (actions.some((a) => a.outcome === 'unsupported')) return 'unsupported';
  return 'pass';
}

// ---------------------------------------------------------------------------------------------
// Runner

export interface RunnerOptions {
  transport: Transport;
  /** The server's public FHIR base URL: absolute URLs under it are sent as paths below the base. */
  baseUrl: string;
  /** Directory fixture references are relative to (the TestScript file's directory). */
  fixtureDir: string;
  /** Media types the server speaks (default: any). Others requested by a script are replaced by the first, and reported. */
  serverFormats?: string[];
  /** Values of dynamic variables (those a tester is asked for: hint/description, no source). Override defaultValue. */
  variables?: Record<string, string>;
  /** Validates a resource against a profile URL: issues (empty when valid), or undefined when the profile is unknown. */
  validate?: (resource: unknown, profileUrl: string) => string[] | undefined;
  /**
   * Update of a fixture whose id differs from the id in the URL: send the URL's id (R4 http.html#update
   * requires them equal) and report it. Default true.
   */
  alignUpdateId?: boolean;
  /** Called with each fixture as loaded; returns the resource to use (for documented fixture errata). */
  amendFixture?: (fixtureId: string, resource: unknown) => unknown;
}

interface Fixture {
  /** The resource (static fixture) or response body (responseId). */
  resource?: unknown;
  response?: RunnerResponse;
  request?: SentRequest;
  /** Formats substituted when this response's request was sent. */
  substituted?: string[];
}

interface SentRequest extends RunnerRequest {
  url: string;
  /** The resource sent as the body (whatever its format). */
  resource?: unknown;
}

interface ServerId {
  type: string;
  id: string;
  versionId?: string;
}

type Json = Record<string, unknown>;

class ActionError extends Error {
  constructor(
    readonly outcome: 'error' | 'unsupported' | 'fail',
    message: string,
  ) {
    super(message);
  }
}

const OPERATION_METHOD: Record<string, RunnerRequest['method']> = {
  read: 'GET',
  vread: 'GET',
  search: 'GET',
  'search-type': 'GET',
  'search-system': 'GET',
  history: 'GET',
  'history-instance': 'GET',
  'history-type': 'GET',
  'history-system': 'GET',
  capabilities: 'GET',
  create: 'POST',
  transaction: 'POST',
  batch: 'POST',
  update: 'PUT',
  patch: 'PATCH',
  delete: 'DELETE',
};

const PAYLOAD_METHODS = new Set(['POST', 'PUT', 'PATCH']);

function asJson(v: unknown): Json | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function resourceTypeOf(v: unknown): string | undefined {
  const t = asJson(v)?.['resourceType'];
  return typeof t === 'string' ? t : undefined;
}

/** `Type/id[/_history/vid]` at the end of a Location or URL. */
function serverIdFromLocation(location: string): ServerId | undefined {
  const m = /([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?\/?$/.exec(location);
  if (!m) return undefined;
  return { type: m[1]!, id: m[2]!, ...(m[3] ? { versionId: m[3] } : {}) };
}

export class TestScriptRunner {
  private readonly fixtures = new Map<string, Fixture>();
  private readonly idMap = new Map<string, ServerId>();
  private readonly autoCreated: Array<{ fixtureId: string; at: ServerId }> = [];
  private last: Fixture | undefined;
  private fixturesLoaded = false;
  private readonly profiles: Map<string, string>;

  constructor(
    readonly script: TestScript,
    private readonly options: RunnerOptions,
  ) {
    this.profiles = new Map((script.profile ?? []).flatMap((p) => (p.id && p.reference ? [[p.id, p.reference] as [string, string]] : [])));
  }

  /** Reads a TestScript JSON file; fixtures resolve relative to its directory. */
  static fromFile(file: string, options: Omit<RunnerOptions, 'fixtureDir'>): TestScriptRunner {
    const script = JSON.parse(fs.readFileSync(file, 'utf8')) as TestScript;
    if (script.resourceType !== 'TestScript') throw new Error(`${file} is not a TestScript`);
    return new TestScriptRunner(script, { ...options, fixtureDir: path.dirname(file) });
  }

  get tests(): TestScriptTest[] {
    return this.script.test ?? [];
  }

  /** Loads fixtures, creates the autocreate ones, runs setup actions. */
  async setup(): Promise<PhaseReport> {
    const actions: ActionReport[] = [];
    actions.push(...this.loadFixtures());
    if (actions.some((a) => a.outcome === 'error')) return { name: 'setup', outcome: 'fail', actions };
    for (const f of this.script.fixture ?? []) {
      if (!f.autocreate || !f.id || !this.fixtures.has(f.id)) continue;
      actions.push(await this.runOperationSafely({ type: { code: 'create' }, sourceId: f.id, encodeRequestUrl: true, label: `autocreate ${f.id}` }, true));
    }
    if (actions.some((a) => a.outcome === 'fail' || a.outcome === 'error')) return { name: 'setup', outcome: 'fail', actions };
    actions.push(...(await this.runActions(this.script.setup?.action ?? [])));
    return { name: 'setup', outcome: phaseOutcome(actions), actions };
  }

  /** Runs one test (by index into `tests`). */
  async runTest(index: number): Promise<PhaseReport> {
    const test = this.tests[index];
    if (!test) throw new Error(`no test #${index}`);
    const actions = await this.runActions(test.action ?? []);
    return { name: test.name ?? test.id ?? `test ${index + 1}`, outcome: phaseOutcome(actions), actions };
  }

  /** Runs teardown actions, then deletes the autodelete fixtures (every action runs). */
  async teardown(): Promise<PhaseReport> {
    const actions: ActionReport[] = [];
    for (const action of this.script.teardown?.action ?? []) actions.push(await this.runOperationSafely(action.operation, false));
    for (const { fixtureId, at } of [...this.autoCreated].reverse()) {
      const autodelete = (this.script.fixture ?? []).find((f) => f.id === fixtureId)?.autodelete;
      if (!autodelete) continue;
      actions.push(await this.runOperationSafely({ type: { code: 'delete' }, resource: at.type, params: `/${at.id}`, encodeRequestUrl: true, label: `autodelete ${fixtureId}` }, false));
    }
    return { name: 'teardown', outcome: phaseOutcome(actions), actions };
  }

  // -- fixtures ---------------------------------------------------------------------------------

  private loadFixtures(): ActionReport[] {
    if (this.fixturesLoaded) return [];
    this.fixturesLoaded = true;
    const reports: ActionReport[] = [];
    for (const f of this.script.fixture ?? []) {
      const ref = f.resource?.reference;
      const label = f.id ?? '(fixture without id)';
      if (!f.id || !ref) {
        reports.push({ kind: 'fixture', label, outcome: 'error', message: 'a fixture needs an id and resource.reference' });
        continue;
      }
      if (ref.startsWith('#') || /^[a-z]+:/i.test(ref)) {
        reports.push({ kind: 'fixture', label, outcome: 'unsupported', message: `fixture reference ${ref}: only files relative to the TestScript are supported` });
        continue;
      }
      const file = path.resolve(this.options.fixtureDir, ref);
      if (!file.endsWith('.json')) {
        reports.push({ kind: 'fixture', label, outcome: 'unsupported', message: `fixture ${ref}: only JSON fixtures are supported` });
        continue;
      }
      try {
        const loaded = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
        const resource = this.options.amendFixture ? this.options.amendFixture(f.id, loaded) : loaded;
        this.fixtures.set(f.id, { resource });
      } catch (e) {
        reports.push({ kind: 'fixture', label, outcome: 'error', message: `cannot load ${ref}: ${(e as Error).message}` });
      }
    }
    return reports;
  }

  // -- actions ------------------------------------------------------------------------------------

  private async runActions(actions: TestScriptSetupAction[]): Promise<ActionReport[]> {
    const reports: ActionReport[] = [];
    let stopped: string | undefined;
    let operationNotRun = false;
    for (const action of actions) {
      const label = action.operation ? (action.operation.label ?? action.operation.type?.code ?? 'operation') : (action.assert?.label ?? action.assert?.description ?? 'assert');
      const kind = action.operation ? 'operation' : 'assert';
      if (stopped) {
        reports.push({ kind, label, outcome: 'skip', message: `not run: ${stopped}` });
        continue;
      }
      if (action.operation) {
        const r = await this.runOperationSafely(action.operation, false);
        reports.push(r);
        operationNotRun = r.outcome === 'unsupported';
        if (r.outcome === 'error') stopped = `operation ${label} could not be executed`;
      } else if (action.assert) {
        if (operationNotRun) {
          reports.push({ kind, label, outcome: 'unsupported', message: 'not evaluated: the operation before it was not run' });
          continue;
        }
        const r = this.runAssert(action.assert);
        reports.push(r);
        if (r.outcome === 'fail') stopped = `assert ${label} failed`;
      } else {
        reports.push({ kind: 'assert', label, outcome: 'error', message: 'an action needs an operation or an assert' });
        stopped = 'malformed action';
      }
    }
    return reports;
  }

  // -- variables ------------------------------------------------------------------------------------

  /** The value of a declared variable now (variables are evaluated when used). */
  variableValue(name: string): string {
    const v = (this.script.variable ?? []).find((x) => x.name === name);
    if (!v) throw new UnresolvedVariableError(name, 'not declared in the TestScript');
    const computed = this.computeVariable(v);
    if (computed !== undefined) return computed;
    const supplied = this.options.variables?.[name];
    if (supplied !== undefined) return supplied;
    if (v.defaultValue !== undefined) return v.defaultValue;
    if (v.expression || v.path || v.headerField) throw new UnresolvedVariableError(name, `its ${v.expression ? 'expression' : v.path ? 'path' : 'headerField'} found nothing and there is no defaultValue`);
    throw new UnresolvedVariableError(name, `it must be supplied by the tester${v.hint ? ` (hint: ${v.hint})` : ''}`);
  }

  private computeVariable(v: TestScriptVariable): string | undefined {
    const source = v.sourceId ? this.fixtures.get(v.sourceId) : this.last;
    if (v.sourceId && !source) throw new UnresolvedVariableError(v.name ?? '', `sourceId ${v.sourceId} is not a known fixture or response`);
    if (v.headerField) return source?.response?.headers[v.headerField.toLowerCase()];
    if (v.expression === undefined && v.path !== undefined) {
      if (!source) return undefined;
      try {
        const values = this.pathValues(this.xmlSource(source, 'response'), v.path).values;
        return values.length > 0 ? String(values[0]) : undefined;
      } catch (e) {
        throw new UnresolvedVariableError(v.name ?? '', (e as Error).message);
      }
    }
    if (v.expression === undefined) return undefined;
    const values = this.fhirpath(source?.resource, v.expression);
    return values.length > 0 ? String(values[0]) : undefined;
  }

  private subst(text: string): string {
    return substitute(text, (name) => this.variableValue(name));
  }

  // -- operations -------------------------------------------------------------------------------------

  private async runOperationSafely(op: TestScriptSetupActionOperation | undefined, autocreate: boolean): Promise<ActionReport> {
    const label = op?.label ?? op?.type?.code ?? 'operation';
    if (!op) return { kind: 'operation', label, outcome: 'error', message: 'a teardown action needs an operation' };
    try {
      const message = await this.runOperation(op, autocreate);
      return { kind: 'operation', label, outcome: 'pass', message };
    } catch (e) {
      if (e instanceof ActionError) return { kind: 'operation', label, outcome: e.outcome, message: e.message };
      if (e instanceof UnresolvedVariableError) return { kind: 'operation', label, outcome: 'error', message: e.message };
      return { kind: 'operation', label, outcome: 'error', message: `request failed: ${(e as Error).message}` };
    }
  }

  private resolveTarget(targetId: string): ServerId {
    const mapped = this.idMap.get(targetId);
    if (mapped) return mapped;
    const f = this.fixtures.get(targetId);
    if (!f) throw new ActionError('error', `targetId ${targetId} is not a known fixture or response`);
    const location = f.response?.headers['location'] ?? f.response?.headers['content-location'];
    const fromLocation = location ? serverIdFromLocation(location) : undefined;
    if (fromLocation) return fromLocation;
    const r = asJson(f.resource);
    const type = resourceTypeOf(r);
    const id = r?.['id'];
    if (!type || typeof id !== 'string') throw new ActionError('error', `targetId ${targetId} has no resource with an id`);
    const versionId = asJson(r?.['meta'])?.['versionId'];
    return { type, id, ...(typeof versionId === 'string' ? { versionId } : {}) };
  }

  private formatHeader(code: string | undefined, notes: string[], substituted: string[], what: string): string {
    const wanted = code ? mediaTypeOf(code) : 'application/fhir+json';
    const formats = this.options.serverFormats;
    if (!formats || formats.length === 0 || formats.includes(wanted)) return wanted;
    const used = formats[0]!;
    substituted.push(wanted);
    notes.push(`${what} ${wanted} replaced by ${used} (the server does not speak it)`);
    return used;
  }

  private buildPath(op: TestScriptSetupActionOperation, code: string, method: string): string {
    if (op.url) {
      let url = this.subst(op.url);
      const base = this.options.baseUrl.replace(/\/+$/, '');
      if (url.startsWith(base)) url = url.slice(base.length);
      else if (/^[a-z]+:\/\//i.test(url)) throw new ActionError('unsupported', `url ${url} is not on the server under test (${base})`);
      return url.startsWith('/') ? url : `/${url}`;
    }
    const sourceType = op.sourceId ? resourceTypeOf(this.fixtures.get(op.sourceId)?.resource) : undefined;
    if (code === 'transaction' || code === 'batch') return '/';
    if (code === 'capabilities') return '/metadata';
    if (op.params !== undefined) {
      const params = this.subst(op.params);
      const type = op.resource ?? (op.targetId ? this.resolveTarget(op.targetId).type : sourceType);
      if (!type && !params.startsWith('/')) return `/${params.replace(/^\?/, '?')}`;
      return `/${type ?? ''}${params.startsWith('/') || params.startsWith('?') ? '' : '/'}${params}`;
    }
    if (op.targetId) {
      const t = this.resolveTarget(op.targetId);
      const type = op.resource ?? t.type;
      switch (code) {
        case 'vread':
          if (!t.versionId) throw new ActionError('error', `vread: targetId ${op.targetId} has no version id`);
          return `/${type}/${t.id}/_history/${t.versionId}`;
        case 'history':
        case 'history-instance':
          return `/${type}/${t.id}/_history`;
        default:
          return `/${type}/${t.id}`;
      }
    }
    const type = op.resource ?? sourceType;
    if (!type) throw new ActionError('error', `${code || method}: no resource type (resource, targetId or sourceId)`);
    if (code === 'update' || method === 'PUT') {
      const id = asJson(this.fixtures.get(op.sourceId ?? '')?.resource)?.['id'];
      if (typeof id !== 'string') throw new ActionError('error', 'update: no id (params, targetId or an id in the sourceId fixture)');
      return `/${type}/${id}`;
    }
    if (code === 'history' || code === 'history-type') return `/${type}/_history`;
    return `/${type}`;
  }

  private encodeQuery(p: string): string {
    const q = p.indexOf('?');
    if (q < 0) return p;
    const query = p
      .slice(q + 1)
      .split('&')
      .filter((pair) => pair !== '')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const enc = (s: string): string => {
          let decoded = s;
          try {
            decoded = decodeURIComponent(s);
          } catch {
            // keep as given
          }
          return encodeURIComponent(decoded);
        };
        return eq < 0 ? enc(pair) : `${enc(pair.slice(0, eq))}=${enc(pair.slice(eq + 1))}`;
      })
      .join('&');
    return `${p.slice(0, q)}?${query}`;
  }

  private async runOperation(op: TestScriptSetupActionOperation, autocreate: boolean): Promise<string> {
    const code = op.type?.code ?? '';
    if (op.type?.system && op.type.system !== 'http://terminology.hl7.org/CodeSystem/testscript-operation-codes' && op.type.system !== 'http://hl7.org/fhir/testscript-operation-codes') {
      throw new ActionError('unsupported', `operation type ${op.type.system}|${code} is not a testscript-operation-code`);
    }
    const method = (op.method?.toUpperCase() as RunnerRequest['method'] | undefined) ?? OPERATION_METHOD[code];
    if (!method) throw new ActionError('unsupported', `operation type ${JSON.stringify(code)} is not supported by this runner`);
    if (op.origin !== undefined && op.origin !== 1) throw new ActionError('unsupported', `origin ${op.origin}: one test client only`);
    if (op.destination !== undefined && op.destination !== 1) throw new ActionError('unsupported', `destination ${op.destination}: one server only`);
    const notes: string[] = [];
    const substituted: string[] = [];
    let p = this.buildPath(op, code, method);
    if (op.encodeRequestUrl !== false) p = this.encodeQuery(p);
    const headers: Record<string, string> = { accept: this.formatHeader(op.accept, notes, substituted, 'Accept') };
    let body: string | undefined;
    let sentResource: unknown;
    if (PAYLOAD_METHODS.has(method) && op.sourceId) {
      const source = this.fixtures.get(op.sourceId);
      if (!source || source.resource === undefined) throw new ActionError('error', `sourceId ${op.sourceId} is not a fixture with a resource`);
      let resource = source.resource;
      if (method === 'PUT' && this.options.alignUpdateId !== false) {
        const urlId = /^\/[A-Za-z]+\/([^/?]+)$/.exec(p)?.[1];
        const r = asJson(resource);
        if (urlId && r && r['id'] !== undefined && r['id'] !== decodeURIComponent(urlId)) {
          notes.push(`fixture ${op.sourceId} id ${JSON.stringify(r['id'])} sent as ${JSON.stringify(decodeURIComponent(urlId))}, the id in the URL`);
          resource = { ...r, id: decodeURIComponent(urlId) };
        }
      }
      const contentType = Array.isArray(resource) ? 'application/json-patch+json' : this.formatHeader(op.contentType, notes, substituted, 'Content-Type');
      if (isXmlMediaType(contentType)) {
        try {
          body = writeFhirXml(resource);
        } catch (e) {
          throw new ActionError('error', `fixture ${op.sourceId} cannot be sent as XML: ${(e as Error).message}`);
        }
      } else {
        body = JSON.stringify(resource);
      }
      headers['content-type'] = contentType;
      sentResource = resource;
    }
    for (const h of op.requestHeader ?? []) headers[h.field.toLowerCase()] = this.subst(h.value);
    const sent: SentRequest = { method, path: p, headers, ...(body !== undefined ? { body, resource: sentResource } : {}), url: `${this.options.baseUrl.replace(/\/+$/, '')}${p === '/' ? '' : p}` };
    const response = await this.options.transport(sent);
    const exchange: Fixture = { request: sent, response, resource: response.body, substituted };
    this.last = exchange;
    if (op.responseId) this.fixtures.set(op.responseId, exchange);
    if (op.requestId) this.fixtures.set(op.requestId, { request: sent, resource: sentResource });
    if (op.sourceId && response.status >= 200 && response.status < 300 && (method === 'POST' || method === 'PUT') && code !== 'transaction' && code !== 'batch') {
      const location = response.headers['location'] ?? response.headers['content-location'];
      const at = (location ? serverIdFromLocation(location) : undefined) ?? this.idFromBody(response.body);
      if (at) {
        this.idMap.set(op.sourceId, at);
        if (autocreate) this.autoCreated.push({ fixtureId: op.sourceId, at });
      }
    }
    if (response.status >= 400) {
      const issue = (asJson(response.body)?.['issue'] as Array<{ diagnostics?: string; expression?: string[] }> | undefined)?.[0];
      if (issue?.diagnostics) notes.push(`OperationOutcome: ${issue.expression?.[0] ? `${issue.expression[0]}: ` : ''}${issue.diagnostics}`);
    }
    return `${method} ${p} -> ${response.status}${notes.length ? ` (${notes.join('; ')})` : ''}`;
  }

  private idFromBody(body: unknown): ServerId | undefined {
    const r = asJson(body);
    const type = resourceTypeOf(r);
    const id = r?.['id'];
    if (!type || typeof id !== 'string') return undefined;
    const versionId = asJson(r?.['meta'])?.['versionId'];
    return { type, id, ...(typeof versionId === 'string' ? { versionId } : {}) };
  }

  // -- asserts --------------------------------------------------------------------------------------

  private fhirpath(resource: unknown, expression: string): unknown[] {
    if (resource === undefined) return [];
    try {
      return evaluate(resource, expression, undefined, r4Model) as unknown[];
    } catch (e) {
      throw new ActionError('fail', `FHIRPath ${JSON.stringify(expression)} could not be evaluated: ${(e as Error).message}`);
    }
  }

  /** The resource an assert or variable looks at, and its FHIR XML text when the exchange was in XML. */
  private xmlSource(f: Fixture, direction: 'request' | 'response'): { resource?: unknown; xml?: string } {
    if (direction === 'request') {
      const body = f.request?.body;
      const xml = body !== undefined && isXmlMediaType(bareMediaType(f.request?.headers['content-type']) ?? '') ? body : undefined;
      return { resource: f.request?.resource, ...(xml !== undefined ? { xml } : {}) };
    }
    const xml = f.response && isXmlMediaType(bareMediaType(f.response.headers['content-type']) ?? '') && f.response.text !== '' ? f.response.text : undefined;
    return { resource: f.resource, ...(xml !== undefined ? { xml } : {}) };
  }

  /**
   * The values of a TestScript `path`: XPath 1.0 over the FHIR XML of the source (the XML exchanged,
   * else the resource written as FHIR XML), prefixes `fhir`, `h` and `xhtml` bound; an unprefixed
   * simple path (`Patient/id`) as FHIR element steps in FHIRPath.
   */
  private pathValues(source: { resource?: unknown; xml?: string }, path: string): { values: unknown[]; how: string } {
    if (path.trim().startsWith('$')) throw new ActionError('unsupported', `path ${path} is JSONPath (not supported)`);
    const steps = !path.includes(':') ? xpathToFhirPath(path) : undefined;
    if (steps) return { values: this.fhirpath(source.resource, steps), how: `FHIRPath ${steps}` };
    let xml = source.xml;
    if (xml === undefined) {
      if (source.resource === undefined) return { values: [], how: 'XPath' };
      try {
        xml = writeFhirXml(source.resource);
      } catch (e) {
        throw new ActionError('fail', `XPath ${path}: the resource cannot be written as FHIR XML: ${(e as Error).message}`);
      }
    }
    let result: unknown;
    try {
      const doc = new DOMParser({
        onError: (level: string, message: string) => {
          throw new Error(`${level}: ${message}`);
        },
      }).parseFromString(xml, 'application/xml');
      result = xpath.useNamespaces({ fhir: 'http://hl7.org/fhir', h: 'http://www.w3.org/1999/xhtml', xhtml: 'http://www.w3.org/1999/xhtml' })(path, doc as unknown as Node);
    } catch (e) {
      throw new ActionError('fail', `XPath ${path} could not be evaluated: ${(e as Error).message}`);
    }
    const values = Array.isArray(result) ? result.map((n: { nodeType?: number; value?: string; textContent?: string | null }) => (n.nodeType === 2 ? n.value : n.textContent)) : [result];
    return { values, how: 'XPath' };
  }

  private runAssert(a: TestScriptSetupActionAssert): ActionReport {
    const label = a.label ?? a.description ?? 'assert';
    let outcome: Outcome;
    let message: string;
    try {
      const r = this.evaluateAssert(a);
      outcome = r.ok ? 'pass' : a.warningOnly ? 'warning' : 'fail';
      message = r.message;
    } catch (e) {
      if (e instanceof ActionError) {
        outcome = e.outcome === 'fail' && a.warningOnly ? 'warning' : e.outcome === 'error' ? 'fail' : e.outcome;
        message = e.message;
      } else if (e instanceof UnresolvedVariableError) {
        outcome = a.warningOnly ? 'warning' : 'fail';
        message = e.message;
      } else throw e;
    }
    return { kind: 'assert', label, outcome, message };
  }

  /** The exchange an assert looks at: its sourceId (a response or fixture), else the last operation's. */
  private source(a: TestScriptSetupActionAssert): Fixture {
    if (a.sourceId) {
      const f = this.fixtures.get(a.sourceId);
      if (!f) throw new ActionError('fail', `sourceId ${a.sourceId} is not a known fixture or response`);
      return f;
    }
    if (!this.last) throw new ActionError('fail', 'no operation has been run yet');
    return this.last;
  }

  private operatorOf(a: TestScriptSetupActionAssert): AssertOperator {
    const op = a.operator ?? 'equals';
    if (!isOperator(op)) throw new ActionError('unsupported', `operator ${op} is not supported`);
    return op;
  }

  private expectedValue(a: TestScriptSetupActionAssert): string | undefined {
    if (a.value !== undefined) return this.subst(a.value);
    if (a.compareToSourceId !== undefined) {
      const other = this.fixtures.get(a.compareToSourceId);
      if (!other) throw new ActionError('fail', `compareToSourceId ${a.compareToSourceId} is not a known fixture or response`);
      if (a.compareToSourceExpression === undefined && a.compareToSourcePath === undefined) throw new ActionError('fail', 'compareToSourceId needs compareToSourceExpression or compareToSourcePath');
      const values = a.compareToSourceExpression !== undefined ? this.fhirpath(other.resource, a.compareToSourceExpression) : this.pathValues(this.xmlSource(other, 'response'), a.compareToSourcePath!).values;
      return values.length > 0 ? String(values[0]) : undefined;
    }
    return undefined;
  }

  private evaluateAssert(a: TestScriptSetupActionAssert): { ok: boolean; message: string } {
    const direction = a.direction ?? 'response';
    const operator = this.operatorOf(a);
    const src = (): Fixture => this.source(a);
    const checked = (what: string, received: string | undefined, expected: string | undefined): { ok: boolean; message: string } => {
      const c = compare(operator, received, expected);
      return { ok: c.ok, message: `${what} ${c.message}` };
    };
    if (a.contentType !== undefined) {
      const f = src();
      const expected = mediaTypeOf(a.contentType);
      const header = direction === 'request' ? f.request?.headers['content-type'] : f.response?.headers['content-type'];
      if ((f.substituted ?? []).includes(expected)) throw new ActionError('unsupported', `content type ${expected} not evaluated: the request asked for it but the runner sent ${this.options.serverFormats?.[0]} instead (format not spoken by the server)`);
      return checked('Content-Type', bareMediaType(header), expected.toLowerCase());
    }
    if (a.expression !== undefined || a.path !== undefined) {
      const f = src();
      const source = this.xmlSource(f, direction === 'request' && !a.sourceId ? 'request' : 'response');
      const where = a.sourceId ? `fixture ${a.sourceId}` : `the last ${direction}`;
      let values: unknown[];
      let what: string;
      if (a.expression !== undefined) {
        const expression = this.subst(a.expression);
        if (source.resource === undefined) throw new ActionError('fail', `${where} has no resource to evaluate ${expression} on`);
        values = this.fhirpath(source.resource, expression);
        what = `expression ${expression}`;
      } else {
        const p = this.subst(a.path!);
        if (source.resource === undefined && source.xml === undefined) throw new ActionError('fail', `${where} has no resource to evaluate ${p} on`);
        const r = this.pathValues(source, p);
        values = r.values;
        what = `path ${p} (${r.how})`;
      }
      const expected = this.expectedValue(a);
      if (operator === 'eval' || (expected === undefined && operator === 'equals' && a.compareToSourceId === undefined)) {
        const ok = values.length === 1 && values[0] === true;
        return { ok, message: `${what} ${ok ? 'is true' : `is not true: ${JSON.stringify(values)}`}` };
      }
      const received = values.length === 0 ? undefined : a.path !== undefined || values.length === 1 ? String(values[0]) : values.map(String).join(',');
      return checked(what, received, expected);
    }
    if (a.headerField !== undefined) {
      const f = src();
      const headers = direction === 'request' ? f.request?.headers : f.response?.headers;
      const field = this.subst(a.headerField);
      return checked(`header ${field}`, headers?.[field.toLowerCase()], this.expectedValue(a));
    }
    if (a.minimumId !== undefined) {
      const minimum = this.fixtures.get(a.minimumId)?.resource;
      if (minimum === undefined) throw new ActionError('fail', `minimumId ${a.minimumId} is not a fixture with a resource`);
      const missing = minimumIdDifferences(minimum, src().resource);
      return { ok: missing.length === 0, message: missing.length === 0 ? `all content of ${a.minimumId} present` : `content of ${a.minimumId} missing or different at ${missing.join(', ')}` };
    }
    if (a.navigationLinks !== undefined) {
      const bundle = asJson(src().resource);
      if (resourceTypeOf(bundle) !== 'Bundle') throw new ActionError('fail', `navigationLinks: the response is not a Bundle (${resourceTypeOf(bundle) ?? 'no resource'})`);
      const links = ((bundle?.['link'] as Array<{ relation?: string }> | undefined) ?? []).map((l) => l.relation ?? '');
      const entries = Array.isArray(bundle?.['entry']) ? (bundle['entry'] as unknown[]).length : 0;
      const total = typeof bundle?.['total'] === 'number' ? bundle['total'] : undefined;
      // R4 http.html#paging: first/previous/next/last are optional, but a page with more results after it needs next; search.html: a self link.
      const needed = ['self', ...(total !== undefined && total > entries ? ['next'] : [])];
      const missing = needed.filter((r) => !links.includes(r));
      const absentOptional = ['first', 'last'].filter((r) => !links.includes(r));
      const ok = (missing.length === 0) === a.navigationLinks;
      const note = absentOptional.length ? ` (optional ${absentOptional.join(', ')} absent)` : '';
      return { ok, message: `links ${JSON.stringify(links)}${missing.length ? `, missing ${missing.join(', ')}` : ''}${note}; needed: self, and next while more results remain` };
    }
    if (a.requestMethod !== undefined) {
      const f = src();
      return checked('request method', f.request?.method.toLowerCase(), this.expectedValue(a) ?? a.requestMethod.toLowerCase());
    }
    if (a.requestURL !== undefined) {
      return checked('request URL', src().request?.url, this.subst(a.requestURL));
    }
    if (a.resource !== undefined) {
      return checked('resource type', resourceTypeOf(src().resource), a.resource);
    }
    if (a.response !== undefined) {
      const status = src().response?.status;
      if (!(a.response in RESPONSE_CODES)) throw new ActionError('unsupported', `response code name ${a.response} is not known`);
      const name = Object.entries(RESPONSE_CODES).find(([, s]) => s === status)?.[0] ?? String(status);
      return checked(`response ${status}`, name, a.response);
    }
    if (a.responseCode !== undefined) {
      const status = src().response?.status;
      return checked('response code', status === undefined ? undefined : String(status), this.subst(a.responseCode));
    }
    if (a.validateProfileId !== undefined) {
      const url = this.profiles.get(a.validateProfileId);
      if (!url) throw new ActionError('fail', `validateProfileId ${a.validateProfileId} is not a profile of the TestScript`);
      const issues = this.options.validate?.(src().resource, url);
      if (issues === undefined) throw new ActionError('unsupported', `validation against ${url} is not supported by this runner`);
      return { ok: issues.length === 0, message: issues.length === 0 ? `valid against ${url}` : `not valid against ${url}: ${issues.slice(0, 5).join('; ')}${issues.length > 5 ? ` (+${issues.length - 5} more)` : ''}` };
    }
    throw new ActionError('unsupported', 'the assert names nothing this runner can check');
  }
}
