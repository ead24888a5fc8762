/**
 * The README stays true: its configuration table is the one the code validates.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { CONFIG_VARIABLES, loadConfig, ConfigError } from '../src/config/config';

describe('README and configuration', () => {
  const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');

  it('documents exactly the configuration variables the server reads', () => {
    const table = readme.split('<!-- config-table:start -->')[1]!.split('<!-- config-table:end -->')[0]!;
    const rows = table.split('\n').filter((l) => l.startsWith('| `'));
    const documented = rows.map((r) => /^\| `([A-Z_]+)` \| `([^`]*)` \| (.*) \|$/.exec(r)).map((m) => (m ? { name: m[1], default: m[2], description: m[3] } : undefined));
    assert.deepEqual(documented, CONFIG_VARIABLES.map((v) => ({ name: v.name, default: v.default, description: v.description })));
  });

  it('shows the two quick-start commands', () => {
    assert.ok(readme.includes('npm ci && npm start'));
    assert.ok(readme.includes('npm ci && npm test'));
  });

  it('rejects each bad value with a message naming the variable', () => {
    const cases: Record<string, string> = { PORT: '70000', HOST: 'bad host!', BASE_URL: 'ftp://x', LOG_LEVEL: 'loud', MAX_BODY_BYTES: 'lots', MAX_PAGE_SIZE: '0' };
    for (const [name, value] of Object.entries(cases)) {
      assert.throws(() => loadConfig({ [name]: value }), (e: unknown) => e instanceof ConfigError && e.message.includes(name), name);
    }
    const all = (() => {
      try {
        loadConfig(cases);
        return [];
      } catch (e) {
        return (e as ConfigError).problems;
      }
    })();
    assert.equal(all.length, Object.keys(cases).length, 'every problem is reported at once');
  });

  it('defaults: port 8080, base /fhir, 10 MB bodies', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.baseUrl, 'http://localhost:8080/fhir');
    assert.equal(c.basePath, '/fhir');
    assert.equal(c.maxBodyBytes, 10 * 1024 * 1024);
    assert.equal(c.host, '127.0.0.1');
  });
});
