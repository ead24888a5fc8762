/**
 * End-to-end SMART standalone launch in a real browser (SMART App Launch 2.0.0 app-launch.html
 * "Standalone launch" with `launch/patient`; RFC 7636 PKCE): headless Chromium (Debian `chromium`
 * driven by playwright-core) opens the authorize URL, logs in on the login page, picks the patient
 * on the picker page and is redirected to the app's redirect URI (a local HTTP listener); the code is
 * exchanged for a token, which then reads inside the patient's compartment (200) and is refused
 * outside it (answered as for an absent id), over real HTTP against the server started on a free port.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { loadConfig } from '../../src/config/config';
import { silentLogger } from '../../src/logging';
import { startServer, type RunningServer } from '../../src/main';
import { clientAssertion, JWT_BEARER, pkce } from '../helpers/smart-flow';

const CHROMIUM = '/usr/bin/chromium';

async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

async function form(url: string, body: Record<string, string>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body).toString() });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('E2E: SMART standalone launch in headless Chromium', function () {
  this.timeout(120_000);
  let running: RunningServer | undefined;
  let browser: Browser | undefined;
  let callbackServer: http.Server | undefined;
  let dir: string | undefined;
  let origin = '';
  let redirectUri = '';
  let received: Promise<URL> = Promise.resolve(new URL('http://unset'));

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`skipping the browser test: ${CHROMIUM} is absent (CI installs Debian chromium through .ci/run)`);
      this.skip();
    }
    // The app's redirect URI: a local listener that records the authorization response.
    let deliver: (u: URL) => void = () => undefined;
    received = new Promise<URL>((resolve) => (deliver = resolve));
    callbackServer = http.createServer((req, res) => {
      deliver(new URL(req.url ?? '/', 'http://127.0.0.1'));
      res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!DOCTYPE html><title>App</title><p>Authorized.</p>');
    });
    await new Promise<void>((resolve) => callbackServer?.listen(0, '127.0.0.1', resolve));
    redirectUri = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`;

    const seeder = generateKeyPairSync('rsa', { modulusLength: 2048 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smart-e2e-'));
    const clientsFile = path.join(dir, 'clients.json');
    fs.writeFileSync(
      clientsFile,
      JSON.stringify({
        clients: [
          { client_id: 'e2e-app', client_name: 'E2E app', redirect_uris: [redirectUri], scope: 'launch/patient patient/*.rs openid fhirUser offline_access', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] },
          { client_id: 'seeder', scope: 'system/*.cruds', token_endpoint_auth_method: 'private_key_jwt', grant_types: ['client_credentials'], jwks: { keys: [{ ...createPublicKey(seeder.privateKey).export({ format: 'jwk' }), kid: 'seed' }] } },
        ],
      }),
    );
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    // Generic Patients under client ids (p1, p2): the generic engine's id rules, not the NHS Number ids.
    const config = loadConfig({ SQLITE_PATH: ':memory:', HOST: '127.0.0.1', PORT: String(port), BASE_URL: `${origin}/fhir`, LOG_LEVEL: 'silent', AUTH_MODE: 'smart', REQUIRED_PROFILES: '', PATIENT_ID_POLICY: 'server', AUTH_CLIENTS_FILE: clientsFile });
    running = await startServer(config, silentLogger());

    // Seed two patients and an observation of each with a backend-services token.
    const seed = await form(`${origin}/auth/token`, {
      grant_type: 'client_credentials',
      scope: 'system/*.cruds',
      client_assertion_type: JWT_BEARER,
      client_assertion: clientAssertion({ clientId: 'seeder', aud: `${origin}/auth/token`, key: seeder.privateKey, kid: 'seed' }),
    });
    assert.equal(seed.status, 200, JSON.stringify(seed.json));
    const resources = [
      { resourceType: 'Patient', id: 'p1', name: [{ given: ['Ada'], family: 'Lovelace' }] },
      { resourceType: 'Patient', id: 'p2', name: [{ given: ['Alan'], family: 'Turing' }] },
      { resourceType: 'Observation', id: 'o1', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p1' } },
      { resourceType: 'Observation', id: 'o2', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/p2' } },
    ];
    for (const r of resources) {
      const res = await fetch(`${origin}/fhir/${r.resourceType}/${r.id}`, { method: 'PUT', headers: { Authorization: `Bearer ${String(seed.json['access_token'])}`, 'Content-Type': 'application/fhir+json' }, body: JSON.stringify(r) });
      assert.ok(res.status === 201 || res.status === 200, await res.text());
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });

  after(async () => {
    await browser?.close();
    await running?.close();
    await new Promise<void>((resolve) => (callbackServer ? callbackServer.close(() => resolve()) : resolve()));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('logs in, picks the patient on the page, gets a token, reads inside the compartment and is refused outside', async () => {
    assert.ok(browser && running);
    const { verifier, challenge } = pkce();
    const authorize = new URL(`${origin}/auth/authorize`);
    authorize.search = new URLSearchParams({
      response_type: 'code',
      client_id: 'e2e-app',
      redirect_uri: redirectUri,
      scope: 'launch/patient patient/*.rs openid fhirUser',
      state: 'e2e-state',
      aud: `${origin}/fhir`,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();

    const page = await browser.newPage();
    await page.goto(authorize.toString());
    assert.equal(await page.title(), 'Sign in');
    await page.fill('#username', 'dev-practitioner');
    await page.fill('#password', 'dev-practitioner');
    await Promise.all([page.waitForURL(/\/auth\/login$/), page.click('#login')]);
    assert.equal(await page.title(), 'Choose a patient');
    // Narrow the list with the name search, then pick.
    await page.fill('#name', 'lovelace');
    await Promise.all([page.waitForURL(/\/auth\/picker/), page.click('#search')]);
    assert.equal(await page.locator('button[data-patient]').count(), 1);
    await Promise.all([page.waitForURL(/\/callback/), page.click('button[data-patient="p1"]')]);
    const callback = await received;
    assert.equal(callback.searchParams.get('state'), 'e2e-state');
    const code = callback.searchParams.get('code');
    assert.ok(code);
    await page.close();

    const token = await form(`${origin}/auth/token`, { grant_type: 'authorization_code', client_id: 'e2e-app', redirect_uri: redirectUri, code, code_verifier: verifier });
    assert.equal(token.status, 200, JSON.stringify(token.json));
    assert.equal(token.json['patient'], 'p1');
    const bearer = { Authorization: `Bearer ${String(token.json['access_token'])}` };

    const inside = await fetch(`${origin}/fhir/Patient/p1`, { headers: bearer });
    assert.equal(inside.status, 200, await inside.clone().text());
    assert.equal(((await inside.json()) as { id: string }).id, 'p1');
    const obs = await fetch(`${origin}/fhir/Observation`, { headers: bearer });
    assert.equal(obs.status, 200);
    const ids = ((await obs.json()) as { entry?: Array<{ resource: { id: string } }> }).entry?.map((e) => e.resource.id);
    assert.deepEqual(ids, ['o1']);
    // Another patient's record answers as one that does not exist (issue 11: existence is not revealed).
    const outside = await fetch(`${origin}/fhir/Patient/p2`, { headers: bearer });
    const absent = await fetch(`${origin}/fhir/Patient/p-none`, { headers: bearer });
    assert.ok(outside.status === 404 || outside.status === 400, await outside.clone().text());
    assert.equal(outside.status, absent.status);
    assert.equal((await outside.text()).replace('p2', 'ID'), (await absent.text()).replace('p-none', 'ID'));
  });
});
