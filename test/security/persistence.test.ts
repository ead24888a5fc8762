/**
 * Issue 11: revocations and used client assertions survive a restart (RFC 7009 §2.2; RFC 7523 §3
 * item 7; SMART App Launch 2.0.0 backend-services.html "jti ... must not be reused"), and the files
 * holding them, like the FHIR database, are readable by their owner only whatever the umask.
 *
 * "Restart" = a new server instance over the same data directory (keys, clients, SQLite database
 * and the authorization server's state database are read back from it).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { JWT_BEARER, startSecurityServer, type SecurityServer, type TokenBody } from '../helpers/security-server';

describe('security: revocations and used assertions survive a restart', () => {
  let s: SecurityServer;
  let umask: number;
  before(async () => {
    // The widest umask: every file the server creates must still be 0600.
    umask = process.umask(0o000);
    s = await startSecurityServer({ persistent: true });
  });
  after(async () => {
    process.umask(umask);
    await s?.close();
  });

  const read = (token: string): request.Test => request(s.running.server).get('/fhir/Patient').set('Authorization', `Bearer ${token}`);

  it('a revoked access token is still refused after a restart', async () => {
    const token = await s.backendToken('system/*.rs');
    assert.equal((await read(token)).status, 200);
    const revoke = await request(s.running.server).post('/auth/revoke').type('form').send({ token, client_assertion_type: JWT_BEARER, client_assertion: s.assertion() });
    assert.equal(revoke.status, 200, revoke.text);
    assert.equal((await read(token)).status, 401);
    await s.restart();
    const after = await read(token);
    assert.equal(after.status, 401, after.text);
    assert.match(String(after.headers['www-authenticate']), /revoked/);
    const intro = await request(s.running.server).post('/auth/introspect').type('form').send({ token, client_assertion_type: JWT_BEARER, client_assertion: s.assertion() });
    assert.deepEqual(intro.body, { active: false });
    // Tokens that were not revoked still work after the restart (the keys are read back too).
    assert.equal((await read(await s.backendToken('system/*.rs'))).status, 200);
  });

  it('an access token its public client revoked stays revoked after a restart', async () => {
    const first = await s.codeFlow({ scope: 'user/*.rs openid fhirUser', user: 'dev-practitioner' });
    assert.equal((await read(first.access_token)).status, 200);
    await request(s.running.server).post('/auth/revoke').type('form').send({ client_id: 'app', token: first.access_token });
    await s.restart();
    assert.equal((await read(first.access_token)).status, 401);
  });

  it('a client assertion used before a restart cannot be replayed after it', async () => {
    const assertion = s.assertion();
    const form = { grant_type: 'client_credentials', scope: 'system/*.rs', client_assertion_type: JWT_BEARER, client_assertion: assertion };
    assert.equal((await request(s.running.server).post('/auth/token').type('form').send(form)).status, 200);
    await s.restart();
    const replay = await request(s.running.server).post('/auth/token').type('form').send(form);
    assert.equal(replay.status, 401, replay.text);
    assert.equal((replay.body as TokenBody).error, 'invalid_client');
    assert.match(String((replay.body as TokenBody).error_description), /replay/);
  });

  it('keeps the FHIR database, the state database and their -wal/-shm files 0600 whatever the umask', async () => {
    const files = fs.readdirSync(s.dir).filter((f) => /\.sqlite(-wal|-shm)?$/.test(f));
    for (const base of ['fhir.sqlite', 'auth-state.sqlite']) for (const suffix of ['', '-wal', '-shm']) assert.ok(files.includes(base + suffix), `${base}${suffix} exists (${files.join(', ')})`);
    for (const f of [...files, 'auth-keys.json', 'users.json'].filter((f) => fs.existsSync(path.join(s.dir, f)))) {
      assert.equal(fs.statSync(path.join(s.dir, f)).mode & 0o777, 0o600, f);
    }
  });
});
