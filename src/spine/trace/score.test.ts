import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Patient } from 'fhir/r4';
import { patientFeatures } from './features';
import type { TraceQuery } from './query';
import { dateNearMiss, gradeOf, probeOf, scoreRecord } from './score';

const jane: Patient = {
  resourceType: 'Patient',
  name: [{ use: 'official', family: 'Smith', given: ['Jane', 'Anne'] }, { use: 'old', family: 'Jones', given: ['Jane'] }],
  gender: 'female',
  birthDate: '1980-02-03',
  address: [{ postalCode: 'LS1 6AE' }],
  generalPractitioner: [{ identifier: { value: 'Y12345' } }],
};

function q(over: Partial<TraceQuery>): TraceQuery {
  return { given: [], birthdate: [{ prefix: 'eq', date: '1980-02-03' }], deathDate: [], fuzzy: false, exact: false, history: false, maxResults: 50, ...over };
}
const score = (query: TraceQuery, p: Patient = jane): number | undefined => scoreRecord(probeOf(query), patientFeatures(p));

describe('Trace scoring', () => {
  it('1.0 for an exact (case-insensitive) match of every supplied field', () => {
    assert.equal(score(q({ family: 'SMITH', given: ['jane'], gender: 'female', postcode: 'ls16ae', gp: 'y12345' })), 1);
  });

  it('a non-fuzzy search rejects any field that does not match', () => {
    assert.equal(score(q({ family: 'Smyth' })), undefined);
    assert.equal(score(q({ family: 'Smith', gender: 'male' })), undefined);
    assert.equal(score(q({ family: 'Smith', birthdate: [{ prefix: 'eq', date: '1980-03-02' }] })), undefined);
  });

  it('previous names match only with history, below 1.0', () => {
    assert.equal(score(q({ family: 'Jones' })), undefined);
    const s = score(q({ family: 'Jones', history: true }));
    assert.ok(s !== undefined && s < 1 && s >= 0.9, String(s));
  });

  it('wildcards match below 1.0', () => {
    const s = score(q({ family: 'Smi*' }));
    assert.ok(s !== undefined && s < 1, String(s));
  });

  it('fuzzy: homophones, transposed names and transposed dates score below 1.0 but match', () => {
    const base = { fuzzy: true, history: true, given: ['Jane'] };
    for (const v of [q({ ...base, family: 'Smythe' }), q({ ...base, family: 'Jane', given: ['Smith'] }), q({ ...base, family: 'Smith', birthdate: [{ prefix: 'eq', date: '1980-03-02' }] })]) {
      const s = score(v);
      assert.ok(s !== undefined && s < 1 && s > 0.7, `${JSON.stringify(v)} -> ${s}`);
    }
  });

  it('birth date near misses are ordered: exact > transposed > off by one > same year', () => {
    assert.equal(dateNearMiss('1980-02-03', '1980-02-03'), 1);
    assert.equal(dateNearMiss('1980-02-03', '1980-03-02'), 0.8);
    assert.equal(dateNearMiss('1980-02-03', '1980-02-04'), 0.7);
    assert.equal(dateNearMiss('1980-02-03', '1908-02-03'), 0.65);
    assert.equal(dateNearMiss('1980-02-03', '1980-09-25'), 0.25);
    assert.equal(dateNearMiss('1980-02-03', '1955-09-25'), 0);
  });

  it('a first given name that is not the record\'s (typo, homophone, nickname) is never certain; nicknames match', () => {
    const fuzzy = { fuzzy: true, history: true, gender: 'female', postcode: 'LS1 6AE' };
    assert.equal(gradeOf(score(q({ ...fuzzy, family: 'Smith', given: ['Jane'] }))!), 'certain');
    const jayne = score(q({ ...fuzzy, family: 'Smith', given: ['Jayne'] }))!;
    assert.ok(jayne >= 0.8 && gradeOf(jayne) === 'probable', String(jayne));
    const peggy: Patient = { ...jane, name: [{ family: 'Smith', given: ['Margaret'] }] };
    const s = score(q({ ...fuzzy, family: 'Smith', given: ['Peggy'] }), peggy)!;
    assert.ok(s >= 0.8 && s < 0.95, String(s));
    assert.equal(score(q({ family: 'Smith', given: ['Peggy'] }), peggy), undefined);
  });

  it('grades', () => {
    assert.equal(gradeOf(1), 'certain');
    assert.equal(gradeOf(0.85), 'probable');
    assert.equal(gradeOf(0.6), 'possible');
    assert.equal(gradeOf(0.3), 'certainly-not');
  });

  it('property: scores are within 0..1 and 1.0 only when the query equals the record', () => {
    const names = ['Smith', 'Smyth', 'Jones', 'Jane', 'Anne', 'Brown'];
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.constantFrom(...names), fc.constantFrom('1980-02-03', '1980-03-02', '1981-02-03'), fc.boolean(), (family, given, date, fuzzy) => {
        const s = score(q({ family, given: [given], birthdate: [{ prefix: 'eq', date }], fuzzy, history: fuzzy }));
        if (s === undefined) return;
        assert.ok(s >= 0 && s <= 1);
        if (s === 1) assert.ok(family === 'Smith' && given === 'Jane' && date === '1980-02-03');
      }),
    );
  });
});
