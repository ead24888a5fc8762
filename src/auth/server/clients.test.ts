/**
 * Client registry (RFC 7591 metadata names): validation of entries, the development client on
 * first start, in-memory registry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEV_CLIENT_ID, loadClientRegistry, parseClient } from './clients';

describe('auth server: clients', () => {
  it('creates the clients file with the development client on first start, then reads it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clients-'));
    try {
      const file = path.join(dir, 'clients.json');
      const first = loadClientRegistry(file);
      assert.equal(first.createdDevClient, true);
      assert.equal(first.get(DEV_CLIENT_ID)?.token_endpoint_auth_method, 'none');
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const second = loadClientRegistry(file);
      assert.equal(second.createdDevClient, false);
      assert.deepEqual(second.all(), first.all());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the development client in memory without a file', () => {
    assert.equal(loadClientRegistry(undefined).source, 'memory');
    assert.ok(loadClientRegistry(undefined).get(DEV_CLIENT_ID));
  });

  it('refuses bad entries, naming every problem', () => {
    assert.throws(() => parseClient({ client_id: 'x', scope: 's', redirect_uris: ['/relative'] }, 'c0'), /redirect_uris/);
    assert.throws(() => parseClient({ client_id: 'x', scope: 's', token_endpoint_auth_method: 'private_key_jwt' }, 'c0'), /jwks or jwks_uri/);
    assert.throws(() => parseClient({ client_id: 'x', scope: 's', grant_types: ['client_credentials'] }, 'c0'), /private_key_jwt/);
    assert.throws(() => parseClient({ client_id: 'x', scope: 's', grant_types: ['password'] }, 'c0'), /grant_types/);
    assert.throws(() => parseClient({ scope: 1 }, 'c0'), /client_id.*scope/);
    assert.equal(parseClient({ client_id: 'x', scope: 's', redirect_uris: ['http://a.example/cb'] }, 'c0').grant_types.join(), 'authorization_code,refresh_token');
  });
});
