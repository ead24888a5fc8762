/**
 * The NHS Number invariants of the project's Spine-Patient profile (profiles/StructureDefinition/
 * Spine-Patient.json), evaluated with fhirpath.js as the validator does (FHIR R4 fhirpath.html,
 * conformance-rules.html "Invariants"): spine-nhs-number-1 (10 digits, Modulus 11 check digit: weights
 * 10..2 over digits 1-9, 11 - (sum mod 11), 11 -> 0, 10 -> never valid; NHS Data Dictionary "NHS
 * Number") and spine-nhs-number-2 (near-miss spellings of the system are rejected). The FHIRPath
 * expression is compared with a plain TypeScript implementation over generated inputs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import type { ElementDefinitionConstraint, StructureDefinition } from 'fhir/r4';
import { compileFhirPath, type CompiledFhirPath } from '../../src/validation/profile/fhirpath-r4';
import { NHS_NUMBER_SYSTEM, PROFILES_DIR } from './stack';

/** The reference implementation of the Modulus 11 check. */
function validNhsNumber(value: string): boolean {
  if (!/^[0-9]{10}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(value[i]) * (10 - i);
  const check = (11 - (sum % 11)) % 11;
  return check !== 10 && check === Number(value[9]);
}

function constraint(key: string): ElementDefinitionConstraint {
  const sd = JSON.parse(fs.readFileSync(path.join(PROFILES_DIR, 'StructureDefinition', 'Spine-Patient.json'), 'utf8')) as StructureDefinition;
  const c = sd.differential?.element.flatMap((e) => e.constraint ?? []).find((x) => x.key === key);
  assert.ok(c?.expression, `constraint ${key} not found`);
  return c;
}

/** Satisfied unless the result is `false` (an empty result satisfies an invariant, as in the validator). */
function holds(fn: CompiledFhirPath, identifier: Record<string, unknown>): boolean {
  return fn(identifier)[0] !== false;
}

describe('NHS Number invariants of Spine-Patient', function () {
  const checkDigit = compileFhirPath('Patient.identifier', constraint('spine-nhs-number-1').expression ?? '');
  const exactSystem = compileFhirPath('Patient.identifier', constraint('spine-nhs-number-2').expression ?? '');
  const nhs = (value: unknown): Record<string, unknown> => ({ system: NHS_NUMBER_SYSTEM, value });

  it('accepts valid NHS Numbers (SPINE.md examples and the 999 test range)', function () {
    for (const v of ['9000000009', '9000000017', '9000000025', '9000000033', '9990000018', '9912003888']) {
      assert.equal(holds(checkDigit, nhs(v)), true, v);
      assert.equal(validNhsNumber(v), true, v);
    }
  });

  it('rejects a wrong check digit, a letter, a short number, a check digit of 10 and a missing value', function () {
    // 9000000000: wrong check digit (should be 9); 0000000060: sum 12, 11 - 1 = 10: never a valid number.
    for (const v of ['9000000000', '900000001X', '123456789', '90000000099', '0000000060', ' 9000000009', '9000000009 ', '']) {
      assert.equal(holds(checkDigit, nhs(v)), false, JSON.stringify(v));
      assert.equal(validNhsNumber(v), false, JSON.stringify(v));
    }
    assert.equal(holds(checkDigit, { system: NHS_NUMBER_SYSTEM }), false, 'no value');
  });

  it('ignores identifiers of other systems and identifiers without a system', function () {
    assert.equal(holds(checkDigit, { system: 'https://example.org/mrn', value: '123' }), true);
    assert.equal(holds(checkDigit, { value: '123' }), true);
  });

  it('agrees with the reference implementation on every 10-digit string (property)', function () {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{10}$/), (v) => holds(checkDigit, nhs(v)) === validNhsNumber(v)),
      { numRuns: 2000 },
    );
  });

  it('agrees on numbers built with a correct check digit, and on the same numbers with any other last digit (property)', function () {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{9}$/), fc.integer({ min: 1, max: 9 }), (nine, shift) => {
        let sum = 0;
        for (let i = 0; i < 9; i++) sum += Number(nine[i]) * (10 - i);
        const check = (11 - (sum % 11)) % 11;
        if (check === 10) return !holds(checkDigit, nhs(`${nine}0`)) && !holds(checkDigit, nhs(`${nine}9`));
        return holds(checkDigit, nhs(`${nine}${check}`)) && !holds(checkDigit, nhs(`${nine}${(check + shift) % 10}`));
      }),
      { numRuns: 1000 },
    );
  });

  it('never accepts anything but 10 digits (property over arbitrary strings)', function () {
    fc.assert(
      fc.property(fc.string({ maxLength: 14 }), (v) => holds(checkDigit, nhs(v)) === validNhsNumber(v)),
      { numRuns: 1000 },
    );
  });

  it('rejects near-miss spellings of the NHS Number system and accepts the exact one and unrelated systems', function () {
    for (const s of ['http://fhir.nhs.uk/Id/nhs-number', 'https://fhir.nhs.uk/id/nhs-number', 'HTTPS://FHIR.NHS.UK/Id/nhs-number', 'http://fhir.nhs.net/Id/nhs-number', 'https://fhir.nhs.uk/Id/nhsnumber', 'https://fhir.nhs.uk/Id/nhs-number/']) {
      assert.equal(holds(exactSystem, { system: s, value: '9000000009' }), false, s);
    }
    for (const s of [NHS_NUMBER_SYSTEM, 'https://fhir.nhs.uk/Id/ods-organization-code', 'https://example.org/nhs-number', undefined]) {
      assert.equal(holds(exactSystem, { system: s, value: '9000000009' }), true, String(s));
    }
  });
});
