/**
 * Test support: locating the shared external test material (official FHIR R4 examples, FHIR
 * validator test cases; see ../shared/external/README.md) relative to the repository root. Used by
 * tests only; the material is never copied into the repository and may be absent.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest ancestor of this file holding package.json (works from src/ and dist/). */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`No package.json above ${from}`);
    dir = up;
  }
}

/** Absolute path of a folder of ../shared/external, or undefined when absent. */
export function externalDir(...parts: string[]): string | undefined {
  const dir = path.resolve(repoRoot(), '..', 'shared', 'external', ...parts);
  return fs.existsSync(dir) ? dir : undefined;
}

/** The `*.json` files of a folder that parse as JSON objects with a resourceType, with their names. */
export function readJsonResources(dir: string): Array<{ file: string; resource: Record<string, unknown> }> {
  const out: Array<{ file: string; resource: Record<string, unknown> }> = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    } catch {
      continue;
    }
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && typeof (parsed as { resourceType?: unknown }).resourceType === 'string') {
      out.push({ file, resource: parsed as Record<string, unknown> });
    }
  }
  return out;
}
