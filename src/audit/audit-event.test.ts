/**
 * Tests of the patients an AuditEvent names (IHE BALP 1.1 "Patient" entity, audit-event.ts
 * `patientsOf`): a result's JSON text gives the same patients whether it is read without parsing
 * (`jsonPatients`) or parsed.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Resource } from 'fhir/r4';
import { patientsOf } from './audit-event';
import type { AuditRecord } from './record';
import { serialiseWithMeta } from '../store/sqlite/writes';

const record = (result: AuditRecord['result'], extra: Partial<AuditRecord> = {}): AuditRecord => ({
  requestId: 'r1',
  method: 'GET',
  path: '/fhir/Patient/x',
  query: '',
  api: 'fhir',
  pathInteraction: 'read',
  pathType: 'Patient',
  status: 200,
  ...(result ? { result } : {}),
  ...extra,
});

/** The patients of a result given as its text, and as the resource the text is the JSON of (always parsed). */
const fromText = (json: string): string[] => patientsOf(record({ status: 200, json }));
const fromResource = (json: string): string[] => patientsOf(record({ status: 200, resource: JSON.parse(json) as Resource }));

const id = fc.stringMatching(/^[A-Za-z0-9\-.]{1,12}$/);
const reference = fc.oneof(
  id.map((i) => `Patient/${i}`),
  id.map((i) => `https://example.org/fhir/Patient/${i}/_history/2`),
  id.map((i) => `Practitioner/${i}`),
  fc.constant('#contained'),
  fc.string({ maxLength: 12 }),
);
const words = fc.constantFrom('Patient', 'patient', 'subject', 'entry', 'beneficiary', 'Pätient', 'x', '"', '\\', '\u00e9');
const text = fc.array(words, { maxLength: 4 }).map((w) => w.join(' '));
/** Resources of the shapes the function reads, with the keys it reads in any order and text that looks like them. */
const body: fc.Arbitrary<Record<string, unknown>> = fc.letrec<{ resource: Record<string, unknown> }>((tie) => ({
  resource: fc
    .record(
      {
        resourceType: fc.constantFrom('Patient', 'Observation', 'Coverage', 'Bundle', 'Practitioner'),
        id,
        subject: fc.record({ reference }),
        patient: fc.record({ reference }),
        beneficiary: fc.record({ reference }),
        note: fc.array(fc.record({ text }), { maxLength: 2 }),
        entry: fc.array(fc.record({ resource: tie('resource') }, { requiredKeys: [] }), { maxLength: 3 }),
        idFirst: fc.boolean(),
      },
      { requiredKeys: ['resourceType', 'idFirst'] },
    )
    .map(({ idFirst, resourceType, id: rid, ...rest }) => {
      // Either `{"resourceType":…,"id":…,…}` (as stored) or the id after the other keys.
      const head: Record<string, unknown> = { resourceType };
      if (idFirst && rid !== undefined) head['id'] = rid;
      return { ...head, ...rest, ...(!idFirst && rid !== undefined ? { id: rid } : {}) };
    }),
})).resource;

describe('audit/audit-event patientsOf', () => {
  it('reads the patients of a result text without parsing it exactly when the parse would find no more', () => {
    fc.assert(
      fc.property(body, (b) => {
        const json = JSON.stringify(b);
        assert.deepEqual(fromText(json), fromResource(json), json);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the same patients for stored texts (serialiseWithMeta)', () => {
    fc.assert(
      fc.property(body, id, (b, storedId) => {
        const json = serialiseWithMeta(b as unknown as Resource, storedId, 1, '2026-12-08T00:00:00.000Z');
        assert.deepEqual(fromText(json), fromResource(json), json);
      }),
      { numRuns: 1000 },
    );
  });

  it('finds a stored Patient itself, the patients an Observation points at, and the patients of a Bundle', () => {
    assert.deepEqual(fromText('{"resourceType":"Patient","id":"p1","name":[{"family":"Patient"}]}'), ['Patient/p1']);
    assert.deepEqual(fromText('{"resourceType":"Patient","id":"p1","subject":{"reference":"Patient/p2"}}'), ['Patient/p1', 'Patient/p2']);
    assert.deepEqual(fromText('{"resourceType":"Observation","id":"o1","subject":{"reference":"Patient/p3"}}'), ['Patient/p3']);
    assert.deepEqual(fromText('{"resourceType":"Observation","id":"o1","subject":{"reference":"Group/g"}}'), []);
    assert.deepEqual(fromText('{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","id":"p4"}}]}'), ['Patient/p4']);
    assert.deepEqual(fromText('{"resourceType":"Organization","id":"org"}'), []);
  });

  it('adds the token, path and query patients to those of the result', () => {
    const rec = record(
      { status: 200, json: '{"resourceType":"Patient","id":"p1"}' },
      { principal: { patient: 'p0' }, query: 'subject=Patient/p9', interaction: { kind: 'read', level: 'instance', resourceType: 'Patient', id: 'p1' } },
    );
    assert.deepEqual(patientsOf(rec).sort(), ['Patient/p0', 'Patient/p1', 'Patient/p9']);
  });

  it('names no patient of a failed request; of an unparsable text, only the Patient its head shows (stored texts always parse)', () => {
    assert.deepEqual(patientsOf(record({ status: 404, json: '{"resourceType":"Patient","id":"p1"}' }, { status: 404 })), []);
    assert.deepEqual(fromText('{"resourceType":"Patient","id":"p1",'), ['Patient/p1']);
    assert.deepEqual(fromText('{"resourceType":"Patient","subject":'), []);
  });
});
