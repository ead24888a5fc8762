/**
 * The Docker deployment (issue 16, "Docker"), checked without a Docker engine: the production compose
 * file and nginx configuration are read and held to their rules, and the image's contents (the
 * Dockerfile's build-stage pruning of `dist/`) are produced in a temporary directory and run directly,
 * answering the image's own HEALTHCHECK.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { repoRoot } from '../helpers/external-data';

const ROOT = repoRoot(__dirname);
const read = (f: string): string => fs.readFileSync(path.join(ROOT, f), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  environment?: Record<string, string>;
  volumes?: string[];
  entrypoint?: string[];
  command?: string[];
}

describe('Operator: the Docker deployment', function () {
  this.timeout(90_000);
  const compose = yaml.load(read('docker/compose.yaml')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
  const nginx = read('docker/nginx.conf');
  const dockerfile = read('docker/Dockerfile');
  const fhirServices = Object.entries(compose.services).filter(([, s]) => s.environment?.['MONGODB_URI'] !== undefined);

  it('production compose: no secret written in it, no development login, MongoDB with authentication, one image build', () => {
    assert.equal(fhirServices.length, 2);
    for (const [name, s] of fhirServices) {
      const env = s.environment ?? {};
      assert.match(env['CURSOR_SECRET'] ?? '', /^\$\{CURSOR_SECRET:\?/, `${name}: CURSOR_SECRET must come from the environment, required`);
      // An external identity provider: the built-in development authorization server (and its users) is not started.
      assert.match(env['AUTH_JWKS_URL'] ?? '', /^\$\{AUTH_JWKS_URL:\?/, name);
      assert.match(env['AUTH_ISSUER'] ?? '', /^\$\{AUTH_ISSUER:\?/, name);
      assert.notEqual(env['AUTH_MODE'], 'off', name);
      assert.match(env['MONGODB_URI'] ?? '', /^mongodb:\/\/\$\{MONGO_USER:\?[^}]*\}:\$\{MONGO_PASSWORD:\?[^}]*\}@/, `${name}: MongoDB credentials from the environment`);
      assert.equal(s.image, 'spine-fhir-server:local', name);
    }
    assert.equal(fhirServices.filter(([, s]) => s.build !== undefined).length, 1, 'the image is built once');
    const mongods = Object.values(compose.services).filter((s) => s.image?.startsWith('mongo') && (s.entrypoint ?? []).join(' ').includes('mongod '));
    assert.equal(mongods.length, 3);
    for (const m of mongods) assert.match((m.entrypoint ?? []).join(' '), /--keyFile \/tmp\/keyfile/);
    assert.doesNotMatch(read('docker/compose.yaml'), /change-me|dev-practitioner|dev-patient/);
  });

  it('nginx: never resends a request, passes FHIR errors through, its own errors are OperationOutcomes, body limit = MAX_BODY_BYTES', () => {
    assert.match(nginx, /proxy_next_upstream off;/);
    assert.doesNotMatch(nginx, /proxy_next_upstream (error|timeout)/);
    assert.match(nginx, /proxy_intercept_errors off;/);
    const limit = /client_max_body_size (\d+);/.exec(nginx)?.[1];
    for (const [, s] of fhirServices) assert.equal(s.environment?.['MAX_BODY_BYTES'], limit);
    for (const status of ['413', '502', '504']) assert.match(nginx, new RegExp(`error_page [0-9 ]*${status}[0-9 ]* @`), status);
    for (const m of nginx.matchAll(/return (\d{3}) '([^']+)';/g)) {
      const body = JSON.parse(m[2] ?? '') as { resourceType: string };
      assert.equal(body.resourceType, 'OperationOutcome', `nginx ${m[1]}`);
    }
  });

  it("the image's contents: dist without tests or benchmarks, run directly, pass the image's HEALTHCHECK", async function () {
    const run = /RUN npm run build && (rm -rf [^\n]+\\\n[^\n]+)\\\n/.exec(dockerfile)?.[1];
    assert.ok(run, 'the Dockerfile prunes dist/ after the build');
    const app = fs.mkdtempSync(path.join(os.tmpdir(), 'image-'));
    const data = fs.mkdtempSync(path.join(os.tmpdir(), 'image-data-'));
    try {
      fs.cpSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), { recursive: true });
      for (const d of ['profiles', 'capability-statement']) fs.cpSync(path.join(ROOT, d), path.join(app, d), { recursive: true });
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
      fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(app, 'node_modules'));
      execFileSync('bash', ['-c', run.replace(/\\\n/g, ' ').replace(/&& npm prune --omit=dev\s*$/, '')], { cwd: app });
      const files = execFileSync('find', ['dist', '-name', '*.js'], { cwd: app, encoding: 'utf8' }).split('\n');
      assert.ok(files.includes('dist/src/main.js'));
      assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.endsWith('.test.js')), 'no tests or benchmarks in the image');

      const port = 18000 + Math.floor(Math.random() * 2000);
      const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], NODE_ENV: 'production', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: data, LOG_LEVEL: 'warn', BASE_URL: `http://localhost:${port}/fhir` };
      const child = spawn(process.execPath, ['dist/src/main.js'], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      try {
        const check = /CMD (node -e "[^\n]+")/.exec(dockerfile)?.[1] ?? '';
        assert.ok(check.includes('/readyz'));
        let healthy = false;
        for (let i = 0; i < 100 && !healthy && child.exitCode === null; i++) {
          try {
            execFileSync('bash', ['-c', check], { cwd: app, env, stdio: 'ignore' });
            healthy = true;
          } catch {
            await new Promise((r) => setTimeout(r, 300));
          }
        }
        assert.ok(healthy, `the HEALTHCHECK never passed:\n${out}`);
        assert.equal((await fetch(`http://127.0.0.1:${port}/fhir/metadata`)).status, 200);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    } finally {
      fs.rmSync(app, { recursive: true, force: true });
      fs.rmSync(data, { recursive: true, force: true });
    }
  });
});
