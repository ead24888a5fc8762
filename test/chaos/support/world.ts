/**
 * The stored world of the hostile-input suites: a few Patients (NHS Numbers allocated by the server),
 * Basic, Observation and Encounter resources the generators point at, a real paging cursor, and the
 * canaries: an Organization no generator writes (its bytes must never change) and two Flags in two
 * patients' compartments (a patient token must keep seeing its own and never the other's (Flag is in the R4 Patient compartment; no generator writes Flags)). Checked
 * between cases: a prototype pollution or a poisoned cache inside the server shows up as a canary
 * that reads differently.
 */
import assert from 'node:assert/strict';
import { getJson, sendJson, send } from './http-client';
import type { World } from './hostile-requests';

export interface Canaries {
  organizationText: string;
  /** Flag in the compartment of `patients[0]` and of `patients[1]`. */
  flags: [string, string];
  patients: [string, string];
}

export interface StoredWorld {
  world: World;
  canaries: Canaries;
}

type Headers = Record<string, string>;

async function created(origin: string, method: string, target: string, body: unknown, headers: Headers): Promise<{ id: string; text: string }> {
  const res = await sendJson(origin, method, target, body, headers);
  assert.ok(res.status === 201 || res.status === 200, `${method} ${target}: ${res.status} ${res.text}`);
  return { id: (res.body as { id: string }).id, text: res.text };
}

/** Creates the world through the API (`auth`: headers carrying a system token, or none). */
export async function buildWorld(origin: string, auth: Headers): Promise<StoredWorld> {
  const patientIds: string[] = [];
  for (const family of ['Chaos', 'Kaos']) {
    patientIds.push((await created(origin, 'POST', '/fhir/Patient', { resourceType: 'Patient', name: [{ family, given: ['Canary'] }], gender: 'other', birthDate: '1970-01-01' }, auth)).id);
  }
  const others: string[] = [];
  for (const id of ['chaos-b1', 'chaos-b2', 'chaos-b3']) {
    await created(origin, 'PUT', `/fhir/Basic/${id}`, { resourceType: 'Basic', id, identifier: [{ system: 'urn:chaos', value: id }], code: { text: 'chaos' }, subject: { reference: `Patient/${patientIds[0]}` } }, auth);
    others.push(`Basic/${id}`);
  }
  for (const id of ['chaos-o1', 'chaos-o2']) {
    await created(origin, 'PUT', `/fhir/Observation/${id}`, { resourceType: 'Observation', id, status: 'final', code: { text: 'chaos' }, subject: { reference: `Patient/${patientIds[1]}` }, valueQuantity: { value: 1, unit: 'mg', system: 'http://unitsofmeasure.org', code: 'mg' } }, auth);
    others.push(`Observation/${id}`);
  }
  await created(origin, 'PUT', '/fhir/Encounter/chaos-e1', { resourceType: 'Encounter', id: 'chaos-e1', status: 'finished', class: { code: 'AMB' }, subject: { reference: `Patient/${patientIds[0]}` } }, auth);
  others.push('Encounter/chaos-e1');
  const org = await created(origin, 'PUT', '/fhir/Organization/chaos-canary', { resourceType: 'Organization', id: 'chaos-canary', name: 'Canary ⚠ "quoted" \\ back', alias: ['__proto__', 'constructor'] }, auth);
  const flags: [string, string] = ['chaos-flag-0', 'chaos-flag-1'];
  for (let i = 0; i < 2; i++) await created(origin, 'PUT', `/fhir/Flag/${flags[i]}`, { resourceType: 'Flag', id: flags[i], status: 'active', code: { text: 'canary' }, subject: { reference: `Patient/${patientIds[i]}` } }, auth);
  const page = await getJson(origin, '/fhir/Basic?_count=1', auth);
  const next = ((page.body as { link?: Array<{ relation: string; url: string }> }).link ?? []).find((l) => l.relation === 'next');
  const cursor = next ? (new URL(next.url).searchParams.get('_cursor') ?? '') : '';
  assert.notEqual(cursor, '', `no paging cursor in ${page.text.slice(0, 300)}`);
  const orgRead = await send(origin, { method: 'GET', target: '/fhir/Organization/chaos-canary', headers: auth });
  assert.equal(orgRead.status, 200);
  void org;
  return { world: { patientIds, others, cursor }, canaries: { organizationText: orgRead.text, flags, patients: [patientIds[0]!, patientIds[1]!] } };
}

/**
 * The canaries are intact and the server answers a cheap request: /metadata 200, the canary
 * Organization byte-identical; with SMART, no token is 401 and a patient token sees its own Flag
 * and not the other patient's. Returns the problems found.
 */
export async function canaryProblems(origin: string, canaries: Canaries, tokens: { system?: string; patient?: string }): Promise<string[]> {
  const problems: string[] = [];
  const sys: Headers = tokens.system ? { Authorization: `Bearer ${tokens.system}` } : {};
  const meta = await send(origin, { method: 'GET', target: '/fhir/metadata', headers: { Accept: 'application/fhir+json' } });
  if (meta.status !== 200 || !meta.text.includes('"CapabilityStatement"')) problems.push(`GET /metadata answered ${meta.status}`);
  const org = await send(origin, { method: 'GET', target: '/fhir/Organization/chaos-canary', headers: sys });
  if (org.status !== 200 || org.text !== canaries.organizationText) problems.push(`the canary Organization reads differently: ${org.status} ${org.text.slice(0, 300)}`);
  const polluted = await getJson(origin, '/fhir/Basic?_count=1&_elements=id', sys);
  if (polluted.status !== 200 || /polluted|isAdmin/.test(polluted.text)) problems.push(`a plain search answers ${polluted.status} ${polluted.text.slice(0, 300)}`);
  if (tokens.patient) {
    const anon = await send(origin, { method: 'GET', target: '/fhir/Organization/chaos-canary' });
    if (anon.status !== 401) problems.push(`a request without a token answered ${anon.status}`);
    const pat: Headers = { Authorization: `Bearer ${tokens.patient}` };
    const own = await send(origin, { method: 'GET', target: `/fhir/Flag/${canaries.flags[0]}`, headers: pat });
    if (own.status !== 200) problems.push(`the patient token cannot read its own Flag: ${own.status}`);
    const other = await send(origin, { method: 'GET', target: `/fhir/Flag/${canaries.flags[1]}`, headers: pat });
    if (other.status < 400 || other.status >= 500) problems.push(`the patient token reads another patient's Flag: ${other.status}`);
    const search = await getJson(origin, '/fhir/Flag', pat);
    const ids = ((search.body as { entry?: Array<{ resource?: { id?: string } }> } | undefined)?.entry ?? []).map((e) => e.resource?.id);
    if (search.status !== 200 || ids.includes(canaries.flags[1]) || !ids.includes(canaries.flags[0])) problems.push(`a patient-token Flag search answers ${search.status} with ${JSON.stringify(ids)}`);
  }
  return problems;
}
