/**
 * The benchmark workload over FHIR R4 Patient (patient.html) and the RESTful API (http.html):
 * seeding the server by `create`, reading back the stored bytes (which the baselines then serve), and
 * the three measured scenarios — read by random seeded id, create, update of a random seeded id —
 * plus the create of the server defaults: Patients WITHOUT an NHS Number, each a new person, so that
 * every `POST` runs the demographic trace and allocates an NHS Number (PDS "Create a new patient").
 *
 * Every function takes optional extra request headers (a SMART `authorization` header for the server
 * under its defaults, AUTH_MODE=smart).
 */
import type { Patient } from 'fhir/r4';
import type { Target } from './child';
import type { Scenario } from './load';
import { makePatient, prng } from './patients';

const JSON_HEADERS = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };

/** Seeds `count` Patients with `concurrency` requests in flight; returns the assigned ids in order. */
export async function seedPatients(target: Target, count: number, concurrency = 8, headers: Readonly<Record<string, string>> = {}): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  let nextIndex = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = nextIndex++;
      if (i >= count) return;
      const res = await fetch(`${target.url}/Patient`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(makePatient(i)) });
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
export async function fetchBodies(target: Target, ids: readonly string[], headers: Readonly<Record<string, string>> = {}): Promise<Map<string, Buffer>> {
  const bodies = new Map<string, Buffer>();
  for (const id of ids) {
    const res = await fetch(`${target.url}/Patient/${id}`, { headers: { accept: 'application/fhir+json', ...headers } });
    const buf = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) throw new Error(`GET ${target.url}/Patient/${id} answered ${res.status}: ${buf.toString('utf8').slice(0, 2000)}`);
    bodies.set(id, buf);
  }
  return bodies;
}

/** Checks a target answers a seeded id with 200 (and, when given, exactly the expected bytes). */
export async function checkTarget(target: Target, id: string, expected?: Buffer, headers: Readonly<Record<string, string>> = {}): Promise<void> {
  const res = await fetch(`${target.url}/Patient/${id}`, { headers: { accept: 'application/fhir+json', ...headers } });
  const buf = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${target.kind}: GET /Patient/${id} answered ${res.status}: ${buf.toString('utf8').slice(0, 1000)}`);
  if (expected && !buf.equals(expected)) throw new Error(`${target.kind}: GET /Patient/${id} answered other bytes than the FHIR server`);
}

function pickIndex(rnd: () => number, n: number): number {
  return Math.floor(rnd() * n);
}

export function readScenario(ids: readonly string[], seed = 1, headers?: Readonly<Record<string, string>>): Scenario {
  const rnd = prng(seed);
  const paths = ids.map((id) => `/Patient/${id}`);
  return { name: 'read', method: 'GET', ...(headers ? { headers } : {}), next: () => ({ path: paths[pickIndex(rnd, paths.length)] ?? '/Patient/none' }) };
}

/** POST bodies: a pool of distinct Patients not in the seed set. */
export function createScenario(firstIndex: number, poolSize = 256, seed = 2): Scenario {
  const rnd = prng(seed);
  const pool = Array.from({ length: poolSize }, (_, k) => Buffer.from(JSON.stringify(makePatient(firstIndex + k))));
  return { name: 'create', method: 'POST', next: () => ({ path: '/Patient', body: pool[pickIndex(rnd, pool.length)] ?? Buffer.alloc(0) }) };
}

const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

/** The n-th workload Patient without its NHS Number (identifier and narrative mention removed). */
export function patientWithoutNhsNumber(n: number, variant = 0): Patient {
  const p = makePatient(n, variant);
  p.identifier = p.identifier?.filter((i) => i.system !== NHS_NUMBER_SYSTEM);
  if (p.text) p.text = { ...p.text, div: p.text.div.replace(/, NHS Number \d{10}/, '') };
  return p;
}

/**
 * POST bodies for the server defaults (PATIENT_ID_POLICY=nhs-number): a NEW person per request
 * (generated on the fly from an ever-increasing index, variant 1 so none is a seeded Patient), without
 * an NHS Number, so every create traces (no match expected) and allocates. Reusing one scenario
 * object across rounds keeps the people distinct: a person posted twice would be traced to the first
 * one and answered 409 `duplicate` instead of 201 — such answers show up in the status counts.
 */
export function nhsCreateScenario(firstIndex: number, headers?: Readonly<Record<string, string>>): Scenario {
  let n = firstIndex;
  return {
    name: 'create',
    method: 'POST',
    ...(headers ? { headers } : {}),
    next: () => ({ path: '/Patient', body: Buffer.from(JSON.stringify(patientWithoutNhsNumber(n++, 1))) }),
  };
}

/**
 * Checks the server allocates an NHS Number on a create without one (PATIENT_ID_POLICY=nhs-number):
 * 201, a 10-digit id, and that id as the NHS Number identifier. Returns the allocated NHS Number.
 */
export async function checkNhsAllocation(target: Target, index: number, headers: Readonly<Record<string, string>> = {}): Promise<string> {
  const res = await fetch(`${target.url}/Patient`, { method: 'POST', headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(patientWithoutNhsNumber(index, 2)) });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${target.kind}: POST /Patient without an NHS Number answered ${res.status}: ${text.slice(0, 1000)}`);
  const p = JSON.parse(text) as Patient;
  const nhs = p.identifier?.find((i) => i.system === NHS_NUMBER_SYSTEM)?.value;
  if (p.id === undefined || !/^\d{10}$/.test(p.id) || nhs !== p.id) throw new Error(`${target.kind}: POST /Patient without an NHS Number did not allocate one (id ${String(p.id)}, NHS Number ${String(nhs)})`);
  return nhs;
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
export function updateScenario(ids: readonly string[], seed = 3, headers?: Readonly<Record<string, string>>): Scenario {
  const rnd = prng(seed);
  const reqs = ids.map((id, i) => ({ path: `/Patient/${id}`, body: Buffer.from(JSON.stringify(updatedPatient(i, id))) }));
  return { name: 'update', method: 'PUT', ...(headers ? { headers } : {}), next: () => reqs[pickIndex(rnd, reqs.length)] ?? { path: '/Patient/none' } };
}
