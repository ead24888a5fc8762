/**
 * A person with a browser (issue 16, "A server a person can look at"; FHIR R4 http.html HTML format):
 * the base page lists the resource types with counts and the operations, a resource page shows its
 * narrative (sanitised), its fields and links to what it references, a search page its results and
 * paging links, an error is a readable page. Everything escaped, scripts impossible (CSP, no inline
 * script runs even when stored content tries). Checked over HTTP and in headless Chromium; the
 * screenshots go to the temp directory, never into the repository.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import request from 'supertest';
import { chromium, type Browser } from 'playwright-core';
import { FHIR_JSON, testApp, type TestApp } from '../helpers/test-app';

const CHROMIUM = '/usr/bin/chromium';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const HOSTILE = '<script>window.__owned=1</script><img src=x onerror="window.__owned=2">';

describe('E2E: the HTML view for people with a browser', function () {
  this.timeout(60_000);
  let t: TestApp;
  before(async () => {
    t = testApp({ REQUIRED_PROFILES: '' });
    const put = (r: Record<string, unknown>): request.Test => request(t.app).put(`/fhir/${String(r['resourceType'])}/${String(r['id'])}`).set('Content-Type', FHIR_JSON).send(r);
    assert.equal((await put({ resourceType: 'Patient', id: 'p1', text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"><p>Peter <b>Chalmers</b></p></div>' }, name: [{ family: `Chalmers ${HOSTILE}`, given: ['Peter'] }] })).status, 201);
    for (let i = 1; i <= 3; i++) {
      assert.equal((await put({ resourceType: 'Observation', id: `o${i}`, status: 'final', code: { text: `Heart rate ${i}` }, subject: { reference: 'Patient/p1' } })).status, 201);
    }
  });
  after(() => t.close());

  it('over HTTP: a resource page with narrative, escaped fields and reference links; strict CSP', async () => {
    const obs = await request(t.app).get('/fhir/Observation/o1').set('Accept', BROWSER_ACCEPT);
    assert.equal(obs.status, 200);
    assert.match(String(obs.headers['content-type']), /^text\/html/);
    assert.match(String(obs.headers['content-security-policy']), /default-src 'none'/);
    assert.match(obs.text, /<a href="http:\/\/localhost:8080\/fhir\/Patient\/p1">Patient\/p1<\/a>/);
    const pat = await request(t.app).get('/fhir/Patient/p1').set('Accept', BROWSER_ACCEPT);
    assert.match(pat.text, /<section class="narrative"[^>]*><div><p>Peter <b>Chalmers<\/b><\/p><\/div><\/section>/);
    assert.doesNotMatch(pat.text, /<script>|<img src=x/);
    assert.match(pat.text, /&lt;script&gt;window.__owned=1&lt;\/script&gt;/);
    // JSON stays the answer of every non-browser client.
    assert.match(String((await request(t.app).get('/fhir/Patient/p1')).headers['content-type']), /^application\/fhir\+json/);
    assert.match(String((await request(t.app).get('/fhir/Patient/p1?_format=html')).headers['content-type']), /^text\/html/);
  });

  it('over HTTP: search pages with paging links, readable errors, the base page with counts', async () => {
    const page1 = await request(t.app).get('/fhir/Observation?_count=2').set('Accept', BROWSER_ACCEPT);
    assert.equal(page1.status, 200);
    assert.match(page1.text, /<a rel="next" href="http:\/\/localhost:8080\/fhir\/Observation\?[^"]*_cursor=/);
    assert.match(page1.text, /Heart rate 1/);
    const missing = await request(t.app).get('/fhir/Patient/nope').set('Accept', BROWSER_ACCEPT);
    assert.equal(missing.status, 404);
    assert.match(missing.text, /<h1>Error 404<\/h1>/);
    assert.match(missing.text, /not-found/);
    const home = await request(t.app).get('/fhir').set('Accept', BROWSER_ACCEPT);
    assert.equal(home.status, 200, home.text);
    assert.match(home.text, /<a href="http:\/\/localhost:8080\/fhir\/Observation">Observation<\/a><\/td><td>3<\/td>/);
    assert.match(home.text, /<a href="http:\/\/localhost:8080\/fhir\/Patient">Patient<\/a><\/td><td>1<\/td>/);
    assert.match(home.text, /System operations/);
  });

  describe('in headless Chromium', function () {
    let browser: Browser | undefined;
    let server: Server;
    let origin = '';
    before(async function () {
      if (!fs.existsSync(CHROMIUM)) {
        console.log(`      skipped: ${CHROMIUM} is absent (CI installs Debian chromium through .ci/run)`);
        this.skip();
      }
      server = t.app.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    });
    after(async () => {
      await browser?.close();
      await new Promise((r) => (server ? server.close(r) : r(undefined)));
    });

    it('base page → a type → a resource, no script runs, no console errors but the CSP refusals of stored content', async () => {
      const page = await browser!.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${origin}/fhir`);
      const software = ((await request(t.app).get('/fhir/metadata')).body as { software: { name: string } }).software.name;
      assert.equal(await page.title(), software);
      assert.equal(await page.locator('h1').textContent(), software);
      const patientCount = await page.locator('tr', { has: page.locator('a', { hasText: /^Patient$/ }) }).locator('td').nth(1).textContent();
      assert.equal(patientCount, '1');
      await page.screenshot({ path: path.join(os.tmpdir(), 'html-home.png') });
      // Links on the page point at BASE_URL (localhost:8080); a person follows them on the same server.
      await page.goto(`${origin}/fhir/Patient/p1`);
      assert.equal(await page.locator('h1').textContent(), 'Patient/p1');
      assert.match((await page.locator('.narrative').textContent()) ?? '', /Peter Chalmers/);
      assert.match((await page.locator('dl.fields').first().textContent()) ?? '', /Chalmers <script>window.__owned=1<\/script>/);
      assert.equal(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned), undefined);
      await page.screenshot({ path: path.join(os.tmpdir(), 'html-patient.png'), fullPage: true });
      assert.deepEqual(errors, []);
    });
  });
});
