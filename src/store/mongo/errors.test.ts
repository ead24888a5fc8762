/**
 * Driver errors mapped to FHIR outcomes (FHIR R4 §2.1.0 http.html: 503 with issue code `transient`
 * when the database cannot be reached), for the real driver's error classes and the double's.
 */
import assert from 'node:assert/strict';
import { MongoNetworkError, MongoServerError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';
import { FhirError } from '../../fhir/outcome';
import { hasErrorLabel, isDuplicateKey, isUnavailable, mapDriverError } from './errors';
import { MingoDbError } from './testing/mingo-db';

describe('mongo store: driver error mapping', () => {
  it('maps network, server selection and closed-topology errors of the real driver to 503 transient with Retry-After', () => {
    const errors = [
      new MongoNetworkError('connection reset'),
      new MongoServerSelectionError('Server selection timed out after 5000 ms', { error: undefined } as never),
      new MongoTopologyClosedError(),
    ];
    for (const e of errors) {
      assert.ok(isUnavailable(e), e.name);
      const m = mapDriverError(e);
      assert.ok(m instanceof FhirError, e.name);
      assert.equal(m.status, 503);
      assert.equal(m.issues[0]?.code, 'transient');
      assert.equal(m.headers['Retry-After'], '5');
      assert.doesNotMatch(m.message, /connection reset|5000/, 'driver internals are not echoed');
    }
  });

  it('maps a primary stepping down (NotWritablePrimary, PrimarySteppedDown) to 503', () => {
    for (const code of [10107, 189, 11602]) {
      const m = mapDriverError(new MongoServerError({ message: 'not primary', code }));
      assert.ok(m instanceof FhirError && m.status === 503, String(code));
    }
  });

  it('passes FhirErrors and other errors through unchanged', () => {
    const f = new FhirError('precondition', 'x');
    assert.equal(mapDriverError(f), f);
    const dup = new MongoServerError({ message: 'E11000 duplicate key', code: 11000 });
    assert.equal(mapDriverError(dup), dup);
    assert.ok(isDuplicateKey(dup));
    const plain = new Error('bug');
    assert.equal(mapDriverError(plain), plain);
    assert.equal(mapDriverError('text'), 'text');
  });

  it('reads error labels from the driver, from errorLabels, and from the double', () => {
    const driver = new MongoServerError({ message: 'conflict', code: 112, errorLabels: ['TransientTransactionError'] });
    assert.ok(hasErrorLabel(driver, 'TransientTransactionError'));
    assert.ok(hasErrorLabel(new MingoDbError('x', 112, ['TransientTransactionError']), 'TransientTransactionError'));
    assert.ok(hasErrorLabel({ errorLabels: ['UnknownTransactionCommitResult'] }, 'UnknownTransactionCommitResult'));
    assert.equal(hasErrorLabel(new Error('x'), 'TransientTransactionError'), false);
    assert.equal(hasErrorLabel(null, 'TransientTransactionError'), false);
  });
});
