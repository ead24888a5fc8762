/**
 * Chaos: `kill -9` of the server under concurrent writes, with every acknowledged write checked
 * (FHIR R4 http.html: a 2xx means the write is stored; bundle.html#transaction: a transaction is
 * all or nothing; ADR 0003 / 0006: WAL, synchronous=FULL, group commit answers after the commit).
 *
 * The real server (`node dist/src/main.js`) runs on a temp DATA_DIR with the file-backed SQLite
 * store. Concurrent writers each own their resources and run creates, updates (If-Match), deletes
 * (If-Match) and transactions (two creates, one referring to the other, and an update) one at a
 * time; after a seeded number of acknowledged writes the server is SIGKILLed mid-flight, restarted
 * on the same files, and checked:
 *
 * - the database opens cleanly (`PRAGMA integrity_check` ok, no foreign key violation) and the
 *   server logs no error while starting;
 * - every version the client got a 2xx for reads back (vread) with identical content, deletions
 *   answer 410, and each resource's current version is its last acknowledged one, or one more when
 *   the write in flight at the kill was applied (then with exactly that write's content);
 * - an unacknowledged transaction is all there or not there at all: both created resources and the
 *   update, or none of them;
 * - the search index agrees with the resources (a count by owner equals the live resources).
 *
 * The in-flight writes' outcomes are then folded into the model and the next round starts on the
 * same data. Supersedes the earlier create-only test/durability.test.ts (its check is the
 * "every acknowledged create reads back" part of this one).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import Database from 'better-sqlite3';
import { CHAOS, SHARES, budgetMs, note, prng, seedFor, tally, timeoutFor } from './support/budget';
import { getJson, pool, sendJson, send } from './support/http-client';
import { assertNoProblems } from './support/invariants';
import { startServerProcess, type ServerProcess } from './support/server-process';

const SUITE = 'sigkill under concurrent writes';
const OWNER = 'urn:chaos:owner';
const OP = 'urn:chaos:op';
const ENV = { REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server' };

type Json = Record<string, unknown>;

interface Tracked {
  id: string;
  owner: number;
  /** The op id of the write that created it (its `urn:chaos:op` identifier). */
  createOp: string;
  /** Acknowledged (or, after a restart, found applied) versions: content, or null for a deletion. */
  versions: Map<number, Json | null>;
  current: number;
  deleted: boolean;
}

type Planned =
  | { kind: 'create'; opId: string; body: Json }
  | { kind: 'update'; opId: string; target: Tracked; from: number; body: Json }
  | { kind: 'delete'; opId: string; target: Tracked; from: number }
  | { kind: 'transaction'; opId: string; target?: Tracked; from?: number; bundle: Json };

interface Model {
  resources: Map<string, Tracked>;
  /** Unexpected answers while the server was up (a 412 here means a lost acknowledgement). */
  unexpected: string[];
}

const stripMeta = (r: Json): Json => {
  const { meta: _m, id: _i, ...rest } = r;
  return rest;
};

function basic(owner: number, opId: string, createOp: string, subject?: string): Json {
  return {
    resourceType: 'Basic',
    identifier: [
      { system: OWNER, value: `w${owner}` },
      { system: OP, value: createOp },
    ],
    code: { text: opId },
    ...(subject ? { subject: { reference: subject } } : {}),
  };
}

/** One writer's loop: sequential writes until the server dies; returns the write in flight, if any. */
async function writer(server: ServerProcess, model: Model, owner: number, rnd: () => number, onAck: () => void, counter: { n: number }): Promise<Planned | undefined> {
  const live = (): Tracked[] => [...model.resources.values()].filter((r) => r.owner === owner && !r.deleted);
  for (;;) {
    const opId = `w${owner}-${counter.n++}-${Math.floor(rnd() * 1e9).toString(36)}`;
    const mine = live();
    const pick = rnd();
    const target = mine.length > 0 ? mine[Math.floor(rnd() * mine.length)]! : undefined;
    let planned: Planned;
    if (!target || pick < 0.35) planned = { kind: 'create', opId, body: basic(owner, opId, opId) };
    else if (pick < 0.7) planned = { kind: 'update', opId, target, from: target.current, body: { ...basic(owner, opId, target.createOp), id: target.id } };
    else if (pick < 0.8) planned = { kind: 'delete', opId, target, from: target.current };
    else {
      const a = `urn:uuid:${randomUUID()}`;
      const entries: Json[] = [
        { fullUrl: a, resource: basic(owner, opId, opId), request: { method: 'POST', url: 'Basic' } },
        { fullUrl: `urn:uuid:${randomUUID()}`, resource: basic(owner, opId, opId, a), request: { method: 'POST', url: 'Basic' } },
      ];
      const withUpdate = rnd() < 0.7;
      if (withUpdate) entries.push({ resource: { ...basic(owner, opId, target.createOp), id: target.id }, request: { method: 'PUT', url: `Basic/${target.id}`, ifMatch: `W/"${target.current}"` } });
      planned = { kind: 'transaction', opId, bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries }, ...(withUpdate ? { target, from: target.current } : {}) };
    }
    let res: { status: number; headers: Record<string, unknown>; body: unknown; text: string };
    try {
      switch (planned.kind) {
        case 'create':
          res = await sendJson(server.origin, 'POST', '/fhir/Basic', planned.body);
          break;
        case 'update':
          res = await sendJson(server.origin, 'PUT', `/fhir/Basic/${planned.target.id}`, planned.body, { 'If-Match': `W/"${planned.from}"` });
          break;
        case 'delete': {
          const r = await send(server.origin, { method: 'DELETE', target: `/fhir/Basic/${planned.target.id}`, headers: { 'If-Match': `W/"${planned.from}"` } });
          res = { status: r.status, headers: r.headers, body: undefined, text: r.text };
          break;
        }
        case 'transaction':
          res = await sendJson(server.origin, 'POST', '/fhir', planned.bundle);
          break;
      }
    } catch {
      return planned; // the server is gone: this write's outcome is unknown
    }
    if (res.status < 200 || res.status > 299) {
      // Gone, or busy (503, the documented overload answer): the outcome is unknown, as for a write in
      // flight at the kill; this writer stops and the write is resolved after the restart.
      if (server.hasExited() || res.status === 503) return planned;
      model.unexpected.push(`${planned.kind} ${planned.opId}: ${res.status} ${res.text.slice(0, 300)}`);
      continue;
    }
    acknowledge(model, planned, res, owner);
    tally(SUITE, `acknowledged ${planned.kind}s`);
    onAck();
  }
}

function acknowledge(model: Model, planned: Planned, res: { status: number; headers: Record<string, unknown>; body: unknown }, owner: number): void {
  const track = (stored: Json): void => {
    const id = String(stored['id']);
    const vid = Number((stored['meta'] as { versionId?: string } | undefined)?.versionId);
    let t = model.resources.get(id);
    const createOp = String((stored['identifier'] as Array<{ system?: string; value?: string }> | undefined)?.find((i) => i.system === OP)?.value);
    if (!t) model.resources.set(id, (t = { id, owner, createOp, versions: new Map(), current: 0, deleted: false }));
    t.versions.set(vid, stored);
    t.current = Math.max(t.current, vid);
  };
  switch (planned.kind) {
    case 'create':
    case 'update':
      track(res.body as Json);
      return;
    case 'delete': {
      const vid = Number(/W\/"(\d+)"/.exec(String(res.headers['etag'] ?? ''))?.[1]);
      assert.ok(Number.isInteger(vid), `a delete answered without a version ETag: ${JSON.stringify(res.headers)}`);
      planned.target.versions.set(vid, null);
      planned.target.current = vid;
      planned.target.deleted = true;
      return;
    }
    case 'transaction':
      for (const e of ((res.body as { entry?: Array<{ resource?: Json }> }).entry ?? [])) if (e.resource) track(e.resource);
  }
}

async function search(server: ServerProcess, query: string): Promise<Json[]> {
  const res = await getJson(server.origin, `/fhir/Basic?${query}&_count=50`);
  assert.equal(res.status, 200, `search ${query}: ${res.text.slice(0, 300)}`);
  return ((res.body as { entry?: Array<{ resource: Json }> }).entry ?? []).map((e) => e.resource);
}

async function readCurrent(server: ServerProcess, id: string): Promise<{ status: number; body: Json | undefined }> {
  const r = await getJson(server.origin, `/fhir/Basic/${id}`);
  return { status: r.status, body: r.body as Json | undefined };
}

const versionOf = (r: Json | undefined): number => Number((r?.['meta'] as { versionId?: string } | undefined)?.versionId);

/** Decides what happened to the writes in flight at the kill, checks they are whole, and folds them into the model. */
async function resolveInFlight(server: ServerProcess, model: Model, inFlight: Array<{ owner: number; planned: Planned }>, problems: string[]): Promise<void> {
  for (const { owner, planned } of inFlight) {
    const created = planned.kind === 'create' || planned.kind === 'transaction' ? await search(server, `identifier=${encodeURIComponent(`${OP}|${planned.opId}`)}`) : [];
    let applied: boolean;
    switch (planned.kind) {
      case 'create': {
        if (created.length > 1) problems.push(`create ${planned.opId} in flight at the kill was stored ${created.length} times`);
        applied = created.length === 1;
        if (applied) {
          if (!isDeepStrictEqual(stripMeta(created[0]!), planned.body)) problems.push(`create ${planned.opId} in flight was applied with other content: ${JSON.stringify(created[0])}`);
          acknowledge(model, planned, { status: 201, headers: {}, body: created[0]! }, owner);
        }
        break;
      }
      case 'update': {
        const cur = await readCurrent(server, planned.target.id);
        const v = versionOf(cur.body);
        if (cur.status !== 200 || (v !== planned.from && v !== planned.from + 1)) problems.push(`Basic/${planned.target.id}: update ${planned.opId} from version ${planned.from} in flight, now ${cur.status} version ${v}`);
        applied = v === planned.from + 1;
        if (applied) {
          const { id: _id, ...sent } = planned.body;
          if (!isDeepStrictEqual(stripMeta(cur.body!), sent)) problems.push(`Basic/${planned.target.id} version ${v} is not the content of the update in flight (${planned.opId})`);
          acknowledge(model, planned, { status: 200, headers: {}, body: cur.body! }, owner);
        }
        break;
      }
      case 'delete': {
        const cur = await readCurrent(server, planned.target.id);
        if (cur.status === 410) {
          applied = true;
          acknowledge(model, planned, { status: 204, headers: { etag: `W/"${planned.from + 1}"` }, body: undefined }, owner);
        } else {
          applied = false;
          if (cur.status !== 200 || versionOf(cur.body) !== planned.from) problems.push(`Basic/${planned.target.id}: delete in flight from version ${planned.from}, now ${cur.status} version ${versionOf(cur.body)}`);
        }
        break;
      }
      case 'transaction': {
        let updated = false;
        if (planned.target) {
          const cur = await readCurrent(server, planned.target.id);
          const v = versionOf(cur.body);
          if (cur.status !== 200 || (v !== planned.from && v !== planned.from! + 1)) problems.push(`Basic/${planned.target.id}: transaction ${planned.opId} in flight, now ${cur.status} version ${v}`);
          updated = v === planned.from! + 1 && (cur.body?.['code'] as { text?: string } | undefined)?.text === planned.opId;
          if (updated) acknowledge(model, planned, { status: 200, headers: {}, body: { entry: [{ resource: cur.body }] } }, owner);
        }
        const whole = created.length === 2 && (planned.target === undefined || updated);
        const none = created.length === 0 && !updated;
        if (!whole && !none) problems.push(`transaction ${planned.opId} in flight at the kill is half applied: ${created.length} of 2 creates, update ${planned.target ? (updated ? 'applied' : 'not applied') : 'absent'}`);
        applied = whole;
        if (created.length > 0) acknowledge(model, planned, { status: 200, headers: {}, body: { entry: created.map((resource) => ({ resource })) } }, owner);
        break;
      }
    }
    tally(SUITE, `in flight at a kill: ${planned.kind}, ${applied ? 'applied' : 'not applied'}`);
  }
}

/** Every acknowledged version reads back identically; current versions and the index agree with the model. */
async function verifyAcknowledged(server: ServerProcess, model: Model, problems: string[]): Promise<void> {
  const checks: Array<[Tracked, number, Json | null]> = [];
  for (const t of model.resources.values()) for (const [v, content] of t.versions) checks.push([t, v, content]);
  await pool(checks, 8, async ([t, v, content]) => {
    const r = await getJson(server.origin, `/fhir/Basic/${t.id}/_history/${v}`);
    if (content === null) {
      if (r.status !== 410) problems.push(`Basic/${t.id} version ${v} was an acknowledged deletion; vread answers ${r.status}`);
    } else if (r.status !== 200) problems.push(`Basic/${t.id} version ${v} was acknowledged; vread answers ${r.status} ${r.text.slice(0, 200)}`);
    else if (!isDeepStrictEqual(r.body, content)) problems.push(`Basic/${t.id} version ${v} reads back different content:\n  acknowledged ${JSON.stringify(content)}\n  stored       ${r.text}`);
  });
  tally(SUITE, 'acknowledged versions re-read', checks.length);
  await pool([...model.resources.values()], 8, async (t) => {
    const cur = await readCurrent(server, t.id);
    if (t.deleted ? cur.status !== 410 : cur.status !== 200 || versionOf(cur.body) !== t.current) problems.push(`Basic/${t.id}: expected ${t.deleted ? 'deleted' : `version ${t.current}`}, read answers ${cur.status} version ${versionOf(cur.body)}`);
    else if (!t.deleted && !isDeepStrictEqual(cur.body, t.versions.get(t.current))) problems.push(`Basic/${t.id}: the current version ${t.current} reads differently from its acknowledged content:\n  acknowledged ${JSON.stringify(t.versions.get(t.current))}\n  read         ${JSON.stringify(cur.body)}`);
  });
  const owners = new Set([...model.resources.values()].map((t) => t.owner));
  for (const owner of owners) {
    const live = [...model.resources.values()].filter((t) => t.owner === owner && !t.deleted).length;
    const res = await getJson(server.origin, `/fhir/Basic?identifier=${encodeURIComponent(`${OWNER}|w${owner}`)}&_summary=count&_total=accurate`);
    const total = (res.body as { total?: number } | undefined)?.total;
    if (total !== live) problems.push(`the index counts ${String(total)} live Basic of writer ${owner}; the model has ${live}`);
  }
}

function integrityProblems(file: string): string[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    const fk = db.pragma('foreign_key_check') as unknown[];
    return [...(integrity.length === 1 && integrity[0]!.integrity_check === 'ok' ? [] : [`integrity_check: ${JSON.stringify(integrity).slice(0, 500)}`]), ...(fk.length === 0 ? [] : [`foreign_key_check: ${JSON.stringify(fk).slice(0, 500)}`])];
  } finally {
    db.close();
  }
}

describe('Chaos: SIGKILL of the server under concurrent writes', function () {
  this.timeout(timeoutFor(SHARES.sigkill, 150_000));
  let dir: string;
  let server: ServerProcess | undefined;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-sigkill-'));
  });
  after(async () => {
    await server?.kill9();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write, applies in-flight writes whole or not at all, and reopens cleanly', async () => {
    const seed = seedFor('sigkill');
    const rnd = prng(seed);
    const model: Model = { resources: new Map(), unexpected: [] };
    const writers = CHAOS.full ? 8 : 4;
    const budget = budgetMs(SHARES.sigkill);
    const started = Date.now();
    const counter = { n: 0 };
    let round = 0;
    const context = (): string => `(seed ${seed}, base seed ${CHAOS.seed}, round ${round}; replay with CHAOS_SEED=${CHAOS.seed})`;
    server = await startServerProcess({ dataDir: dir, env: ENV });
    for (round = 1; CHAOS.full ? Date.now() - started < budget || round <= 2 : round <= 2; round++) {
      const killAfter = 20 + Math.floor(rnd() * (CHAOS.full ? 400 : 120));
      let acks = 0;
      let killed: Promise<void> | undefined;
      const s = server;
      const onAck = (): void => {
        if (++acks >= killAfter && !killed) killed = s.kill9();
      };
      const safety = setTimeout(() => (killed ??= s.kill9()), 60_000);
      const inFlight = await Promise.all(Array.from({ length: writers }, (_, w) => writer(s, model, w, prng(seed + round * 1000 + w), onAck, counter).then((planned) => ({ owner: w, planned }))));
      clearTimeout(safety);
      await (killed ?? s.kill9());
      tally(SUITE, 'kills');
      assertNoProblems(model.unexpected, `unexpected answers while the server was up ${context()}`);

      server = await startServerProcess({ dataDir: dir, env: ENV });
      const problems = [...integrityProblems(path.join(dir, 'fhir.sqlite')), ...server.errors().map((l) => `start-up logged: ${l.slice(0, 300)}`)];
      await resolveInFlight(server, model, inFlight.filter((f): f is { owner: number; planned: Planned } => f.planned !== undefined), problems);
      await verifyAcknowledged(server, model, problems);
      if (problems.length > 0) note(`FAILED ${SUITE}: ${context()}`);
      assertNoProblems(problems, `after kill -9 ${context()}`);
    }
    tally(SUITE, 'resources tracked', model.resources.size);
    await server.stop();
    server = undefined;
  });
});
