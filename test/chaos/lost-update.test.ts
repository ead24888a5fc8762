/**
 * Chaos: lost updates under concurrent read-modify-write with If-Match (FHIR R4 http.html "Managing
 * Resource Contention": an update with `If-Match` applies only to that version, else 412; bundle.html
 * `Bundle.entry.request.ifMatch`; RFC 6902 JSON Patch with If-Match).
 *
 * Many clients share a few resources. Each client repeatedly reads a resource, appends one unique
 * identifier to it and writes it back with `If-Match` of the version it read: as a PUT, as a JSON
 * Patch (`add /identifier/-`) or as a transaction entry with `ifMatch`; a 412 makes it read again.
 * Checked on the real server process (file-backed SQLite):
 *
 * - the versions of the successful writes of a resource are unique and consecutive (2..final);
 * - every version is its predecessor plus exactly the one identifier acknowledged for it, so the
 *   history holds every acknowledged change exactly once and the final resource holds them all;
 * - no refused (412) write left a trace; every refusal was a 412 OperationOutcome, nothing else
 *   (no 409, no 5xx); a write with a stale version is refused (negative control).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CHAOS, SHARES, budgetMs, note, prng, seedFor, tally, timeoutFor } from './support/budget';
import { getJson, send, sendJson } from './support/http-client';
import { assertNoProblems } from './support/invariants';
import { startServerProcess, type ServerProcess } from './support/server-process';

const SUITE = 'lost update (If-Match read-modify-write)';
const APPEND = 'urn:chaos:append';

type Json = Record<string, unknown>;
interface Identifier {
  system?: string;
  value?: string;
}

interface Ack {
  resource: string;
  version: number;
  value: string;
  via: 'PUT' | 'PATCH' | 'transaction';
}

const versionOf = (r: Json | undefined): number => Number((r?.['meta'] as { versionId?: string } | undefined)?.versionId);
const appended = (r: Json | undefined): string[] => ((r?.['identifier'] as Identifier[] | undefined) ?? []).filter((i) => i.system === APPEND).map((i) => String(i.value));

describe('Chaos: concurrent read-modify-write with If-Match loses no update', function () {
  this.timeout(timeoutFor(SHARES.lostUpdate, 120_000));
  let dir: string;
  let server: ServerProcess | undefined;
  before(async function () {
    this.timeout(120_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chaos-lost-update-'));
    server = await startServerProcess({ dataDir: dir, env: { REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server' } });
  });
  after(async () => {
    await server?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('gives every successful update a unique consecutive version, keeps every acknowledged change exactly once, and answers mismatches 412', async () => {
    const s = server!;
    const seed = seedFor('lost-update');
    const ids = ['lu-0', 'lu-1', 'lu-2'];
    for (const id of ids) {
      const res = await sendJson(s.origin, 'PUT', `/fhir/Basic/${id}`, { resourceType: 'Basic', id, code: { text: 'counter' }, identifier: [{ system: 'urn:chaos:name', value: id }] });
      assert.equal(res.status, 201, res.text);
    }
    const clients = CHAOS.full ? 16 : 8;
    const deadline = Date.now() + budgetMs(SHARES.lostUpdate) * 0.9;
    const quota = CHAOS.full ? Number.POSITIVE_INFINITY : 6;
    const acks: Ack[] = [];
    const refused: string[] = [];
    const unexpected: string[] = [];
    let mismatches = 0;

    const client = async (c: number): Promise<void> => {
      const rnd = prng(seed + c);
      for (let done = 0, attempt = 0; done < quota && (CHAOS.full ? Date.now() < deadline : true); attempt++) {
        const id = ids[Math.floor(rnd() * ids.length)]!;
        const value = `c${c}-a${attempt}`;
        const read = await getJson(s.origin, `/fhir/Basic/${id}`);
        if (read.status !== 200) {
          unexpected.push(`read Basic/${id}: ${read.status}`);
          return;
        }
        const current = read.body as Json;
        const v = versionOf(current);
        const updated = { ...current, identifier: [...((current['identifier'] as Identifier[]) ?? []), { system: APPEND, value }] };
        delete (updated as { meta?: unknown }).meta;
        const how = rnd();
        const via: Ack['via'] = how < 0.55 ? 'PUT' : how < 0.8 ? 'PATCH' : 'transaction';
        let status: number;
        let text: string;
        let newVersion: number | undefined;
        if (via === 'PUT') {
          const res = await sendJson(s.origin, 'PUT', `/fhir/Basic/${id}`, updated, { 'If-Match': `W/"${v}"` });
          ({ status, text } = res);
          newVersion = versionOf(res.body as Json);
        } else if (via === 'PATCH') {
          const res = await send(s.origin, { method: 'PATCH', target: `/fhir/Basic/${id}`, headers: { 'Content-Type': 'application/json-patch+json', 'If-Match': `W/"${v}"` }, body: JSON.stringify([{ op: 'add', path: '/identifier/-', value: { system: APPEND, value } }]) });
          ({ status, text } = res);
          newVersion = status === 200 ? versionOf(JSON.parse(res.text) as Json) : undefined;
        } else {
          const res = await sendJson(s.origin, 'POST', '/fhir', { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: updated, request: { method: 'PUT', url: `Basic/${id}`, ifMatch: `W/"${v}"` } }] });
          ({ status, text } = res);
          const entry = (res.body as { entry?: Array<{ resource?: Json }> } | undefined)?.entry?.[0];
          newVersion = status === 200 ? versionOf(entry?.resource) : undefined;
        }
        tally(SUITE, `attempts via ${via}`);
        if (status === 200) {
          acks.push({ resource: id, version: Number(newVersion), value, via });
          done++;
        } else if (status === 412) {
          mismatches++;
          refused.push(value);
          const oo = JSON.parse(text) as { resourceType?: string; issue?: unknown[] };
          if (oo.resourceType !== 'OperationOutcome' || !oo.issue?.length) unexpected.push(`412 without an OperationOutcome: ${text.slice(0, 200)}`);
        } else {
          unexpected.push(`${via} Basic/${id} If-Match W/"${v}": ${status} ${text.slice(0, 300)}`);
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
    tally(SUITE, 'acknowledged updates', acks.length);
    tally(SUITE, 'mismatches answered 412', mismatches);
    const context = `(seed ${seed}, base seed ${CHAOS.seed}; replay with CHAOS_SEED=${CHAOS.seed})`;
    if (unexpected.length > 0) note(`FAILED ${SUITE}: ${context}`);
    assertNoProblems(unexpected, `answers other than 200 and 412 ${context}`);

    const problems: string[] = [];
    for (const id of ids) {
      const mine = acks.filter((a) => a.resource === id).sort((a, b) => a.version - b.version);
      const final = await getJson(s.origin, `/fhir/Basic/${id}`);
      const last = versionOf(final.body as Json);
      const versions = mine.map((a) => a.version);
      const expected = Array.from({ length: last - 1 }, (_, i) => i + 2);
      if (JSON.stringify(versions) !== JSON.stringify(expected)) problems.push(`Basic/${id}: acknowledged versions ${JSON.stringify(versions)}, expected the consecutive ${JSON.stringify(expected)} up to the current ${last}`);
      const finalValues = appended(final.body as Json);
      const ackValues = mine.map((a) => a.value);
      if (JSON.stringify(finalValues) !== JSON.stringify(ackValues)) problems.push(`Basic/${id}: the final resource holds ${JSON.stringify(finalValues)}; acknowledged in version order: ${JSON.stringify(ackValues)}`);
      const stray = finalValues.filter((x) => refused.includes(x));
      if (stray.length > 0) problems.push(`Basic/${id}: refused (412) writes left ${JSON.stringify(stray)}`);
      let previous: string[] = [];
      for (let v = 1; v <= last; v++) {
        const h = await getJson(s.origin, `/fhir/Basic/${id}/_history/${v}`);
        const values = appended(h.body as Json);
        const ack = mine.find((a) => a.version === v);
        const want = v === 1 ? [] : [...previous, ack?.value ?? '(no acknowledged write)'];
        if (h.status !== 200 || JSON.stringify(values) !== JSON.stringify(want)) problems.push(`Basic/${id} version ${v}: ${h.status} holds ${JSON.stringify(values)}, expected ${JSON.stringify(want)}`);
        previous = values;
      }
      const history = await getJson(s.origin, `/fhir/Basic/${id}/_history?_count=1&_total=accurate`);
      const total = (history.body as { total?: number } | undefined)?.total;
      if (total !== undefined && total !== last) problems.push(`Basic/${id}: history total ${total}, current version ${last}`);
      // Negative control: a stale version is refused with 412, and changes nothing.
      const stale = await sendJson(s.origin, 'PUT', `/fhir/Basic/${id}`, { resourceType: 'Basic', id, code: { text: 'stale' } }, { 'If-Match': 'W/"1"' });
      if (last > 1 && stale.status !== 412) problems.push(`Basic/${id}: a write with If-Match W/"1" over version ${last} answered ${stale.status}`);
      if (versionOf((await getJson(s.origin, `/fhir/Basic/${id}`)).body as Json) !== last) problems.push(`Basic/${id}: the refused stale write changed the version`);
    }
    if (problems.length > 0) note(`FAILED ${SUITE}: ${context}`);
    assertNoProblems(problems, `lost-update checks ${context}`);
    assert.ok(acks.length >= clients, `every client got updates through (${acks.length} acknowledged)`);
  });
});
