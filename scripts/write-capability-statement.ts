/**
 * Regenerates the published CapabilityStatement (capability-statement/CapabilityStatement.json) from
 * the running engine's registrations: `npm run capability`. A test fails when the two differ.
 */
import fs from 'node:fs';
import path from 'node:path';
import { publishedCapabilityStatement, PUBLISHED_CAPABILITY_PATH } from '../test/helpers/capability';

const cs = publishedCapabilityStatement();
fs.mkdirSync(path.dirname(PUBLISHED_CAPABILITY_PATH), { recursive: true });
fs.writeFileSync(PUBLISHED_CAPABILITY_PATH, JSON.stringify(cs, null, 2) + '\n');
process.stdout.write(`wrote ${PUBLISHED_CAPABILITY_PATH}\n`);
