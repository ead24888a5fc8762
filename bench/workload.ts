/**
 * The benchmark workload over FHIR R4 Patient (patient.html) and the RESTful API (http.html):
 * seeding the server by `create`, reading back the stored bytes (which the baselines then serve), and
 * the three measured scenarios — read by random seeded id, create, update of a random seeded id.
 */
import type { Patient } from 'fhir/r4';
import type { Target } from './child';
import type { Scenario } from './load';
import { makePatient, prng } from './patients';

const JSON_HEADERS = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };

/** Seeds `count` Patients with `concurrency` requests in flight; returns the assigned ids in order. */
export async function seedPatients(target: Target, count: number, concurrency = 8): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = nextIndex++;
      if (i >= count) return;
      const res = await fetch(`${target.url}/Patient`, { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(makePatient(i)) });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`seeding Patient #${i}: POST ${target.url}/Patient answered ${res.status}: ${text.slice(0, 2000)}`);
      const id = (JSON.parse(text) as { id?: unknown }).id;
      if (typeof id !== 'string') throw new Error(`seeding Patient #${i}: the 201 response has no id: ${text.slice(0, 500)}`);
      ids[i] = id;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return ids;
}

/** GETs every id and returns the exact response bytes (what the baselines will serve). */
export async function fetchBodies(target: Target, ids: readonly string[]): Promise<Map<string, Buffer>> {
  const bodies = new Map<string, Buffer>();
  for (const id of ids) {
    const res = await fetch(`${target.url}/Patient/${id}`, { headers: { accept: 'application/fhir+json' } });
    const buf = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`GET ${target.url}/Patient/${id} answered ${res.status}: ${buf.toString('utf8').slice(0, 2000)}`);
    bodies.set(id, buf);
  }
  return bodies;
}

/** Checks a target answers a seeded id with 200 (and, when given, exactly the expected bytes). */
export async function checkTarget(target: Target, id: string, expected?: Buffer): Promise<void> {
  const res = await fetch(`${target.url}/Patient/${id}`, { headers: { accept: 'application/fhir+json' } });
  const buf = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${target.kind}: GET /Patient/${id} answered ${res.status}: ${buf.toString('utf8').slice(0, 1000)}`);
  if (expected && !buf.equals(expected)) throw new Error(`${target.kind}: GET /Patient/${id} answered other bytes than the FHIR server`);
}

function pickIndex(rnd: () => number, n: number): number {
  return Math.floor(rnd() * n);
}

export function readScenario(ids: readonly string[], seed = 1): Scenario {
  const rnd = prng(seed);
  const paths = ids.map((id) => `/Patient/${id}`);
  return { name: 'read', method: 'GET', next: () => ({ path: paths[pickIndex(rnd, paths.length)] ?? '/Patient/none' }) };
}

/** POST bodies: a pool of distinct Patients not in the seed set. */
export function createScenario(firstIndex: number, poolSize = 256, seed = 2): Scenario {
  const rnd = prng(seed);
  const pool = Array.from({ length: poolSize }, (_, k) => Buffer.from(JSON.stringify(makePatient(firstIndex + k))));
  return { name: 'create', method: 'POST', next: () => ({ path: '/Patient', body: pool[pickIndex(rnd, pool.length)] ?? Buffer.alloc(0) }) };
}

/** The seeded Patient with a new mobile number and home address line: a typical demographic update. */
export function updatedPatient(index: number, id: string): Patient {
  const p = makePatient(index);
  p.id = id;
  const mobile = p.telecom?.[1];
  if (mobile) mobile.value = `07700 ${String(900000 + (index % 100000)).padStart(6, '0')}`;
  const home = p.address?.[0];
  if (home) home.line = [`${1 + (index % 250)} Updated Road`];
  return p;
}

/** PUT bodies: for each seeded id, that Patient with a changed phone number and address line. */
export function updateScenario(ids: readonly string[], seed = 3): Scenario {
  const rnd = prng(seed);
  const reqs = ids.map((id, i) => ({ path: `/Patient/${id}`, body: Buffer.from(JSON.stringify(updatedPatient(i, id))) }));
  return { name: 'update', method: 'PUT', next: () => reqs[pickIndex(rnd, reqs.length)] ?? { path: '/Patient/none' } };
}
