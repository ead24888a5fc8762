/**
 * Runs the store contract suite against the SQLite store (FHIR R4 §3.1.0 http.html, §3.1.1
 * search.html), in memory and on a temporary file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeStoreContract } from '../contract/store-contract';
import { openSqliteStore } from './sqlite-store';

describeStoreContract('sqlite :memory:', async () => openSqliteStore(':memory:'));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sqlite-store-contract-'));
let n = 0;
describeStoreContract('sqlite file', async () => openSqliteStore(path.join(tmp, `store-${++n}`, 'fhir.sqlite')));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
