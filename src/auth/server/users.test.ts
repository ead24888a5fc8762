/**
 * Local users: scrypt password hashes, the development users, the users file.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEV_PATIENT_ID, hashPassword, loadUserRegistry, USERS_FILE, verifyPassword } from './users';

describe('auth server: users', () => {
  it('hashes with scrypt and a random salt, and verifies only the right password', async () => {
    const a = hashPassword('secret');
    const b = hashPassword('secret');
    assert.match(a, /^scrypt\$16384\$8\$1\$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('secret', a), true);
    assert.equal(await verifyPassword('Secret', a), false);
    assert.equal(await verifyPassword('secret', 'plain'), false);
  });

  it('seeds the development users into a 0600 users file and authenticates them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'users-'));
    try {
      const users = loadUserRegistry(dir);
      const file = path.join(dir, USERS_FILE);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /"password": "dev-/);
      assert.equal((await users.authenticate('dev-practitioner', 'dev-practitioner'))?.fhirUser, 'Practitioner/dev-practitioner');
      assert.equal(await users.authenticate('dev-practitioner', 'wrong'), undefined);
      assert.equal(await users.authenticate('nobody', 'dev-practitioner'), undefined);
      const reloaded = loadUserRegistry(dir);
      assert.equal((await reloaded.authenticate('dev-patient', 'dev-patient'))?.fhirUser, `Patient/${DEV_PATIENT_ID}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
