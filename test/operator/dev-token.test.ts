/**
 * The token instructions `npm start` prints work as printed (issue 16, "The first ten minutes";
 * SMART App Launch 2.0.0 app-launch.html with RFC 7636 PKCE): the authorize URL carries a real
 * challenge of the printed verifier, the development client lands on the server's own
 * `/auth/dev-callback` page, which shows the code and the exchange command, and that command (with
 * the printed verifier) yields a token that reads the logged-in patient.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { startServer, type RunningServer } from '../../src/main';
import { DEV_PATIENT_ID } from '../../src/auth/server/users';
import { hiddenField } from '../helpers/smart-flow';

const ORIGIN = 'http://localhost:8080';

/** Unescapes the few entities escapeHtml writes. */
function text(html: string): string {
  return html.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

describe('Operator: the printed development token flow', function () {
  this.timeout(60_000);
  let running: RunningServer;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dev-token-'));
    // The default configuration of `npm start`: a data directory, SMART on, NHS Number ids, UK Core.
    running = await startServer(loadConfig({ DATA_DIR: dir, PORT: '0', BASE_URL: `${ORIGIN}/fhir`, LOG_LEVEL: 'silent' }), silentLogger());
  });
  after(async () => {
    await running?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('export VERIFIER, open the URL, log in as dev-patient, land on /auth/dev-callback, run its command: a token that reads the patient', async () => {
    const printed = running.auth?.describeDevClient() ?? '';
    assert.doesNotMatch(printed, /<BASE64URL|<verifier>/, 'no placeholder left for the user to compute');
    const verifier = /export VERIFIER=(\S+)/.exec(printed)?.[1] ?? '';
    assert.match(verifier, /^[A-Za-z0-9_-]{43,128}$/);
    const url = new URL(/open (\S+)/.exec(printed)?.[1] ?? '');
    assert.equal(url.origin, ORIGIN);
    assert.equal(url.searchParams.get('redirect_uri'), `${ORIGIN}/auth/dev-callback`);

    const browser = request.agent(running.server);
    const login = await browser.get(`${url.pathname}${url.search}`);
    assert.equal(login.status, 200, login.text);
    const after = await browser.post('/auth/login').type('form').send({ tx: hiddenField(login.text, 'tx'), csrf: hiddenField(login.text, 'csrf'), username: 'dev-patient', password: 'dev-patient', action: 'login' });
    assert.equal(after.status, 303, after.text);
    const landing = new URL(String(after.headers['location']));
    assert.equal(`${landing.origin}${landing.pathname}`, `${ORIGIN}/auth/dev-callback`);
    assert.equal(landing.searchParams.get('state'), url.searchParams.get('state'));

    const page = await browser.get(`${landing.pathname}${landing.search}`);
    assert.equal(page.status, 200, page.text);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'/);
    const command = text(/<pre id="exchange">([^<]+)<\/pre>/.exec(page.text)?.[1] ?? '');
    assert.match(command, /^curl -X POST http:\/\/localhost:8080\/auth\/token /);
    // Run the command as a shell would, with $VERIFIER from step 1.
    const form = new URLSearchParams();
    for (const m of command.matchAll(/-d ([^=\s]+)=(\S+)/g)) form.set(m[1] ?? '', (m[2] ?? '').replace('$VERIFIER', verifier));
    assert.equal(form.get('code'), landing.searchParams.get('code'));
    const token = await request(running.server).post('/auth/token').type('form').send(form.toString());
    assert.equal(token.status, 200, token.text);
    const body = token.body as { access_token: string; patient?: string };
    assert.equal(body.patient, DEV_PATIENT_ID);
    const read = await request(running.server).get(`/fhir/Patient/${DEV_PATIENT_ID}`).set('Authorization', `Bearer ${body.access_token}`);
    assert.equal(read.status, 200, read.text);
  });

  it('the callback page escapes what it shows and answers 400 for an error or a missing code', async () => {
    const evil = await request(running.server).get('/auth/dev-callback?code=%3Cscript%3Ealert(1)%3C%2Fscript%3E&state=%22x');
    assert.equal(evil.status, 200);
    assert.doesNotMatch(evil.text, /<script>/);
    assert.match(evil.text, /&lt;script&gt;/);
    const refused = await request(running.server).get('/auth/dev-callback?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E');
    assert.equal(refused.status, 400);
    assert.match(refused.text, /access_denied: &lt;b&gt;no&lt;\/b&gt;/);
    assert.equal((await request(running.server).get('/auth/dev-callback')).status, 400);
  });
});
