/**
 * Locating the external test material (/work/shared/external, see its README.md) from compiled or
 * source tests. The material is published by others and is read at run time, never copied into the
 * repository; where it is absent (a user's machine) suites print a reason and skip.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root: the nearest ancestor of this module's directory holding package.json. */
export function repoRoot(from: string = __dirname): string {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${from}`);
    dir = parent;
  }
}

/** Absolute path of `shared/external/<parts>` beside the repository (it may not exist). */
export function externalPath(...parts: string[]): string {
  return path.resolve(repoRoot(), '..', 'shared', 'external', ...parts);
}

/** The external path when it exists, else undefined (callers print a reason and skip). */
export function existingExternalPath(...parts: string[]): string | undefined {
  const p = externalPath(...parts);
  return fs.existsSync(p) ? p : undefined;
}

/** Prints why a test or suite is skipped, then skips it (mocha context of `it` or `before`). */
export function skipWithReason(ctx: Mocha.Context, reason: string): never {
  console.log(`      skipped: ${reason}`);
  ctx.skip();
}
