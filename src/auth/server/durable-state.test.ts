/**
 * The durable authorization server state (RFC 7009 §2.2; RFC 7523 §3 item 7): revoked jtis and used
 * assertion jtis survive reopening the database until they expire; the files are 0600.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AUTH_STATE_FILE, DurableAuthState } from './durable-state';

describe('auth server: durable state', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-state-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps revocations and used assertions across a reopen, until they expire', () => {
    let now = 1_000_000_000_000;
    const a = DurableAuthState.open(dir, () => now);
    a.revoke('j1', now + 60_000);
    assert.equal(a.rememberAssertion('c', 'x', now + 60_000), true);
    assert.equal(a.rememberAssertion('c', 'x', now + 60_000), false);
    a.close();
    const b = DurableAuthState.open(dir, () => now);
    assert.equal(b.isRevoked('j1'), true);
    assert.equal(b.isRevoked('j2'), false);
    assert.equal(b.rememberAssertion('c', 'x', now + 60_000), false, 'a replay after the restart');
    assert.equal(b.rememberAssertion('d', 'x', now + 60_000), true, 'per client');
    // A revocation only lengthens; expiry ends both.
    b.revoke('j1', now + 1000);
    now += 60_001;
    assert.equal(b.isRevoked('j1'), false);
    assert.equal(b.rememberAssertion('c', 'x', now + 60_000), true);
    b.close();
  });

  it('creates the database and its -wal/-shm 0600 whatever the umask; in memory without a directory', () => {
    const old = process.umask(0);
    try {
      const s = DurableAuthState.open(dir, () => Date.now());
      s.revoke('j', Date.now() + 1000);
      for (const f of [AUTH_STATE_FILE, `${AUTH_STATE_FILE}-wal`, `${AUTH_STATE_FILE}-shm`]) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, f);
      s.close();
    } finally {
      process.umask(old);
    }
    const m = DurableAuthState.open(undefined, () => Date.now());
    assert.equal(m.location, ':memory:');
    m.revoke('j', Date.now() + 1000);
    assert.equal(m.isRevoked('j'), true);
    m.close();
  });
});
