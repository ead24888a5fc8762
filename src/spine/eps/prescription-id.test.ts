import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isValidPrescriptionId, mod37CheckCharacter, newPrescriptionId, prescriptionIdProblem, MOD37_ALPHABET } from './prescription-id';

describe('EPS short-form prescription ID (ISO/IEC 7064 MOD 37-2)', () => {
  it('accepts the IDs of the EPS examples', () => {
    for (const id of ['24F5DA-A83008-7EFE6Z', '060CC0-A83008-5A2E6T', '0A446C-A99968-4CC380', '0EB38D-A99968-424EAR']) {
      assert.equal(prescriptionIdProblem(id), undefined, id);
    }
  });

  it('refuses a wrong check character and a wrong format', () => {
    assert.equal(prescriptionIdProblem('24F5DA-A83008-7EFE6A'), 'checksum');
    assert.equal(prescriptionIdProblem('24F5DA-A83008-7EFE6'), 'format');
    assert.equal(prescriptionIdProblem('24f5da-a83008-7efe6z'), 'format');
    assert.equal(prescriptionIdProblem('24F5DAA830087EFE6Z'), 'format');
  });

  const hex = fc.string({ unit: fc.constantFrom(...'0123456789ABCDEF'), minLength: 11, maxLength: 11 });
  const ods = fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: 6, maxLength: 6 });

  it('every generated ID is valid (property)', () => {
    fc.assert(fc.property(hex, ods, (r, o) => isValidPrescriptionId(newPrescriptionId(o, r))));
  });

  it('detects every single-character substitution (property)', () => {
    fc.assert(
      fc.property(hex, ods, fc.nat(16), fc.nat(35), (r, o, pos, delta) => {
        const compact = newPrescriptionId(o, r).replace(/-/g, '');
        const body = compact.slice(0, 17);
        const old = MOD37_ALPHABET.indexOf(body[pos]!);
        const replaced = MOD37_ALPHABET[(old + 1 + delta) % 36]!;
        if (replaced === body[pos]) return true;
        const changed = body.slice(0, pos) + replaced + body.slice(pos + 1);
        return mod37CheckCharacter(changed) !== compact[17];
      }),
    );
  });

  it('detects every adjacent transposition of different characters (property)', () => {
    fc.assert(
      fc.property(hex, ods, fc.nat(15), (r, o, pos) => {
        const compact = newPrescriptionId(o, r).replace(/-/g, '');
        const body = compact.slice(0, 17);
        if (body[pos] === body[pos + 1]) return true;
        const swapped = body.slice(0, pos) + body[pos + 1]! + body[pos]! + body.slice(pos + 2);
        return mod37CheckCharacter(swapped) !== compact[17];
      }),
    );
  });
});
