/**
 * Search over a realistic load (FHIR R4 §3.1.1 search.html, §3.1.0.11 transaction, §3.1.1.6
 * paging): Synthea patient transaction Bundles are POSTed to the base, then searches must return
 * exactly the resources computed directly from the Bundle contents — reference + token AND,
 * `_revinclude`, `_include`, and paging through every Observation of a patient by `next` links.
 *
 * To keep CI fast a subset is loaded: the 9 smallest patient Bundles plus the smallest one with at
 * least 120 Observations (to page through several pages of 50), and the hospital and practitioner
 * Bundles. (The patient Bundles are self-contained: each POSTs its own Organization and
 * Practitioners, so they reference nothing in the other two.)
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Bundle, BundleEntry, Encounter, Observation, Resource } from 'fhir/r4';
import { testApp, GENERIC_ENGINE, FHIR_JSON, TEST_BASE, type TestApp } from '../helpers/test-app';
import { existingExternalPath, skipWithReason } from '../helpers/external-data';
import { entriesWithMode, fetchBundle, localLink } from './rows';
import { diagnostic } from '../helpers/diagnostics';

const SYNTHEA = existingExternalPath('synthea');
const ABSENT = 'the Synthea folder ../shared/external/synthea is absent';
const LOINC = 'http://loinc.org';

interface LoadedPatient {
  file: string;
  bundle: Bundle;
  /** fullUrl (urn:uuid) -> `Type/id` assigned by the server. */
  ids: Map<string, string>;
  patientFullUrl: string;
  patientId: string;
}

function readBundle(file: string): Bundle {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Bundle;
}

function resourcesOf<T extends Resource>(b: Bundle, type: T['resourceType']): Array<{ fullUrl: string; resource: T }> {
  return (b.entry ?? []).filter((e) => e.resource?.resourceType === type).map((e) => ({ fullUrl: e.fullUrl!, resource: e.resource as T }));
}

/** Chooses the subset (see header). */
function chooseFiles(dir: string): string[] {
  const patientFiles = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !/^(hospital|practitioner)Information/.test(f))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(a).size - fs.statSync(b).size || a.localeCompare(b));
  const small = patientFiles.slice(0, 9);
  const big = patientFiles.slice(9).find((f) => resourcesOf<Observation>(readBundle(f), 'Observation').length >= 120);
  return big ? [...small, big] : small;
}

async function postTransaction(app: TestApp['app'], bundle: Bundle): Promise<BundleEntry[]> {
  const res = await request(app).post('/fhir').set('Content-Type', FHIR_JSON).set('Accept', FHIR_JSON).send(JSON.stringify(bundle));
  assert.equal(res.status, 200, `transaction -> ${res.status} ${JSON.stringify(res.body).slice(0, 400)}`);
  return (res.body as Bundle).entry ?? [];
}

/** `Type/id` of a response location (absolute or relative, with or without _history). */
function typeAndId(location: string): string {
  const rel = location.startsWith(TEST_BASE) ? location.slice(TEST_BASE.length + 1) : location;
  const [type, id] = rel.split('/');
  return `${type!}/${id!}`;
}

const refsTo = (ref: string | undefined, loaded: LoadedPatient): string | undefined => (ref ? loaded.ids.get(ref) : undefined);

describe('Search over Synthea transaction Bundles', function () {
  let t: TestApp | undefined;
  const loaded: LoadedPatient[] = [];

  before(async function () {
    if (!SYNTHEA) return;
    this.timeout(600_000);
    t = testApp(GENERIC_ENGINE);
    const files = chooseFiles(SYNTHEA);
    const started = Date.now();
    let entries = 0;
    const problems: string[] = [];
    for (const extra of ['hospitalInformation1559319163815.json', 'practitionerInformation1559319163815.json']) {
      const p = path.join(SYNTHEA, extra);
      if (!fs.existsSync(p)) continue;
      const b = readBundle(p);
      const reply = await postTransaction(t.app, b);
      entries += reply.length;
      reply.forEach((e, i) => {
        if (!e.response?.status.startsWith('201')) problems.push(`${extra} #${i}: ${e.response?.status ?? '?'}`);
      });
    }
    for (const file of files) {
      const bundle = readBundle(file);
      const reply = await postTransaction(t.app, bundle);
      entries += reply.length;
      const ids = new Map<string, string>();
      (bundle.entry ?? []).forEach((e, i) => {
        const r = reply[i]?.response;
        if (!r?.status.startsWith('201') || !r.location) problems.push(`${path.basename(file)} #${i}: ${r?.status ?? 'no response'}`);
        else ids.set(e.fullUrl!, typeAndId(r.location));
      });
      const patient = resourcesOf(bundle, 'Patient')[0]!;
      loaded.push({ file: path.basename(file), bundle, ids, patientFullUrl: patient.fullUrl, patientId: ids.get(patient.fullUrl)!.split('/')[1]! });
    }
    const seconds = (Date.now() - started) / 1000;
    diagnostic(`      loaded ${files.length} patient Bundles + hospital/practitioner Bundles: ${entries} entries in ${seconds.toFixed(1)}s (${(entries / seconds).toFixed(0)} resources/s)`);
    assert.equal(problems.length, 0, `entries not created (201):\n  ${problems.slice(0, 20).join('\n  ')}`);
  });
  after(async function () {
    await t?.close();
  });

  it('leaves no urn:uuid reference in any stored resource', async function () {
    if (!t) skipWithReason(this, ABSENT);
    this.timeout(120_000);
    let scanned = 0;
    const left: string[] = [];
    for (const p of loaded) {
      for (const typed of p.ids.values()) {
        const [type, id] = typed.split('/') as [string, string];
        const v = await t.services.store.read(type, id);
        scanned++;
        if (v?.json && /"reference":"urn:uuid:/.test(v.json)) left.push(typed);
      }
    }
    diagnostic(`      scanned ${scanned} stored resources`);
    assert.deepEqual(left, []);
  });

  it('Observation?patient=X&code=http://loinc.org|Y returns exactly the Bundle\'s Observations of that code', async function () {
    if (!t) skipWithReason(this, ABSENT);
    const lines: string[] = [];
    for (const p of loaded.slice(0, 4).concat(loaded.slice(-1))) {
      const obs = resourcesOf<Observation>(p.bundle, 'Observation').filter((o) => o.resource.subject?.reference === p.patientFullUrl);
      const counts = new Map<string, number>();
      for (const o of obs) for (const c of o.resource.code.coding ?? []) if (c.system === LOINC && c.code) counts.set(c.code, (counts.get(c.code) ?? 0) + 1);
      const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
      if (!top) continue;
      const code = top[0];
      const expected = obs.filter((o) => o.resource.code.coding?.some((c) => c.system === LOINC && c.code === code)).map((o) => p.ids.get(o.fullUrl)!);
      const b = await fetchBundle(t.app, `Observation?patient=${p.patientId}&code=${encodeURIComponent(`${LOINC}|${code}`)}&_count=1000&_total=accurate`);
      assert.deepEqual(entriesWithMode(b, 'match').sort(), expected.sort(), `${p.file} code ${code}`);
      assert.equal(b.total, expected.length);
      lines.push(`${p.file.split('_').slice(0, 2).join(' ')}: LOINC ${code} x${expected.length}`);
    }
    diagnostic(`      ${lines.join('; ')}`);
  });

  it('Patient?_id=X&_revinclude=Encounter:patient (and Observation:patient) includes exactly the Bundle\'s resources', async function () {
    if (!t) skipWithReason(this, ABSENT);
    for (const p of loaded.slice(0, 3)) {
      for (const type of ['Encounter', 'Observation'] as const) {
        const expected = resourcesOf<Encounter | Observation>(p.bundle, type)
          .filter((x) => x.resource.subject?.reference === p.patientFullUrl)
          .map((x) => p.ids.get(x.fullUrl)!);
        const b = await fetchBundle(t.app, `Patient?_id=${p.patientId}&_revinclude=${type}:patient`);
        assert.deepEqual(entriesWithMode(b, 'match'), [`Patient/${p.patientId}`]);
        assert.deepEqual(entriesWithMode(b, 'include').sort(), expected.sort(), `${p.file} _revinclude=${type}:patient`);
      }
    }
  });

  it('Encounter?patient=X&_include=Encounter:practitioner includes exactly the Practitioners of Encounter.participant', async function () {
    if (!t) skipWithReason(this, ABSENT);
    for (const p of loaded.slice(0, 3)) {
      const encounters = resourcesOf<Encounter>(p.bundle, 'Encounter').filter((e) => e.resource.subject?.reference === p.patientFullUrl);
      const practitioners = new Set<string>();
      for (const e of encounters) {
        for (const part of e.resource.participant ?? []) {
          const target = refsTo(part.individual?.reference, p);
          if (target?.startsWith('Practitioner/')) practitioners.add(target);
        }
      }
      assert.ok(practitioners.size > 0, `${p.file}: the Bundle's Encounters name no Practitioner`);
      const b = await fetchBundle(t.app, `Encounter?patient=${p.patientId}&_include=Encounter:practitioner&_count=1000`);
      assert.deepEqual(entriesWithMode(b, 'match').sort(), encounters.map((e) => p.ids.get(e.fullUrl)!).sort(), `${p.file} encounters`);
      assert.deepEqual(entriesWithMode(b, 'include').sort(), [...practitioners].sort(), `${p.file} included practitioners`);
    }
  });

  it('pages through every Observation of a patient with _count=50 following next links', async function () {
    if (!t) skipWithReason(this, ABSENT);
    const p = loaded[loaded.length - 1]!;
    const expected = resourcesOf<Observation>(p.bundle, 'Observation')
      .filter((o) => o.resource.subject?.reference === p.patientFullUrl)
      .map((o) => p.ids.get(o.fullUrl)!);
    const seen: string[] = [];
    let pages = 0;
    let next: string | undefined = `Observation?patient=${p.patientId}&_count=50`;
    const started = Date.now();
    while (next) {
      const b = await fetchBundle(t.app, next);
      pages++;
      const got = entriesWithMode(b, 'match');
      assert.ok(got.length <= 50, `page ${pages} has ${got.length} entries`);
      seen.push(...got);
      const link = b.link?.find((l) => l.relation === 'next')?.url;
      next = link ? localLink(link) : undefined;
      assert.ok(pages <= Math.ceil(expected.length / 50) + 1, 'more pages than the results need');
    }
    diagnostic(`      ${p.file}: ${expected.length} Observations in ${pages} pages, ${Date.now() - started} ms`);
    assert.equal(new Set(seen).size, seen.length, 'an Observation appeared on two pages');
    assert.deepEqual(seen.sort(), expected.sort());
  });
});
