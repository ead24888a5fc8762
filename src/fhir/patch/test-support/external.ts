/**
 * Test support only: where the shared external test material lives (fhir-test-cases r4/patch,
 * the official FHIRPath Patch and JSON Patch cases), found from the repository root at run time.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest directory above this file holding a package.json. */
export function repoRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('repository root (package.json) not found');
    dir = up;
  }
}

/** The fhir-test-cases r4/patch folder, or undefined when the shared material is absent. */
export function patchCasesDir(): string | undefined {
  const dir = path.resolve(repoRoot(), '..', 'shared', 'external', 'fhir-test-cases', 'r4', 'patch');
  return fs.existsSync(dir) ? dir : undefined;
}
