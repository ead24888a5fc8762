/**
 * Loading FHIR NPM packages and folders of conformance resources (FHIR R4 §2.1.0 "Conformance
 * Resources" (https://hl7.org/fhir/R4/conformance-module.html) and the FHIR NPM package
 * specification (https://confluence.hl7.org/display/FHIR/NPM+Package+Specification): a `package/`
 * folder with `package.json` and one resource per JSON file).
 *
 * Three inputs are accepted:
 * - a package as a `.tgz` (or `.tar.gz`) file: read with node:zlib and the small tar reader below;
 * - a package as a directory: either the extracted archive (holding `package/package.json`) or the
 *   `package` folder itself (holding `package.json`); only its top-level JSON files are read, as the
 *   package specification puts resources there (`example/`, `other/` sub-folders are ignored);
 * - a plain folder tree of JSON files (the repository's `profiles/`, the UK Core folder): every JSON
 *   file below it, recursively.
 *
 * Only the conformance resource types a validator needs are kept (`CONFORMANCE_RESOURCE_TYPES`);
 * everything else (examples, ImplementationGuide, ...) is skipped silently. Files that do not parse are
 * reported in `problems`, never thrown, so one broken file does not stop a server from starting.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { CodeSystem, CompartmentDefinition, ConceptMap, OperationDefinition, SearchParameter, StructureDefinition, ValueSet } from 'fhir/r4';

export type ConformanceResource = StructureDefinition | ValueSet | CodeSystem | SearchParameter | OperationDefinition | CompartmentDefinition | ConceptMap;

export type ConformanceResourceType = ConformanceResource['resourceType'];

export const CONFORMANCE_RESOURCE_TYPES: ReadonlySet<ConformanceResourceType> = new Set<ConformanceResourceType>([
  'StructureDefinition',
  'ValueSet',
  'CodeSystem',
  'SearchParameter',
  'OperationDefinition',
  'CompartmentDefinition',
  'ConceptMap',
]);

/** A conformance resource with where it came from. */
export interface LoadedResource {
  resource: ConformanceResource;
  /** The package (`name#version`) or folder the resource came from. */
  source: string;
  /** The file inside the package or folder (relative path). */
  file: string;
}

export interface LoadedPackage {
  /** `package.json` name, or the folder's base name for a plain folder. */
  name: string;
  version?: string;
  /** `package.json` dependencies (name -> version), empty for a plain folder. */
  dependencies: Record<string, string>;
  /** The directory or file it was loaded from (absolute). */
  location: string;
  kind: 'package' | 'folder';
  resources: LoadedResource[];
  /** Files that could not be read (unparseable JSON, unreadable archive member). */
  problems: string[];
}

/** Whether a parsed JSON value is one of the conformance resources this module loads. */
export function isConformanceResource(value: unknown): value is ConformanceResource {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const rt = (value as { resourceType?: unknown }).resourceType;
  return typeof rt === 'string' && CONFORMANCE_RESOURCE_TYPES.has(rt as ConformanceResourceType);
}

interface Manifest {
  name?: unknown;
  version?: unknown;
  dependencies?: unknown;
}

function manifestFields(m: Manifest, fallbackName: string): Pick<LoadedPackage, 'name' | 'version' | 'dependencies'> {
  const deps: Record<string, string> = {};
  if (typeof m.dependencies === 'object' && m.dependencies !== null) {
    for (const [k, v] of Object.entries(m.dependencies as Record<string, unknown>)) if (typeof v === 'string') deps[k] = v;
  }
  const out: Pick<LoadedPackage, 'name' | 'version' | 'dependencies'> = { name: typeof m.name === 'string' ? m.name : fallbackName, dependencies: deps };
  if (typeof m.version === 'string') out.version = m.version;
  return out;
}

function sourceLabel(name: string, version: string | undefined): string {
  return version === undefined ? name : `${name}#${version}`;
}

/** Parses one file's content; adds it to `out` when it is a conformance resource. */
function collect(text: string, file: string, source: string, out: LoadedResource[], problems: string[]): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    problems.push(`${file}: not valid JSON (${(e as Error).message})`);
    return;
  }
  if (isConformanceResource(parsed)) out.push({ resource: parsed, source, file });
}

/**
 * Loads a FHIR package or a plain folder: a `.tgz`/`.tar.gz` file, a package directory, or any folder
 * of JSON files (see the module header). Throws only when the location does not exist.
 */
export function loadPackage(location: string): LoadedPackage {
  const abs = path.resolve(location);
  const stat = fs.statSync(abs);
  if (stat.isFile()) return loadTarball(abs);
  if (fs.existsSync(path.join(abs, 'package', 'package.json'))) return loadPackageDir(path.join(abs, 'package'), abs);
  if (fs.existsSync(path.join(abs, 'package.json'))) return loadPackageDir(abs, abs);
  return loadFolder(abs);
}

function loadPackageDir(dir: string, location: string): LoadedPackage {
  const problems: string[] = [];
  let manifest: Manifest = {};
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
  } catch (e) {
    problems.push(`package.json: ${(e as Error).message}`);
  }
  const fields = manifestFields(manifest, path.basename(location));
  const source = sourceLabel(fields.name, fields.version);
  const resources: LoadedResource[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (!f.endsWith('.json') || f === 'package.json' || f.startsWith('.')) continue;
    const full = path.join(dir, f);
    if (!fs.statSync(full).isFile()) continue;
    collect(fs.readFileSync(full, 'utf8'), `package/${f}`, source, resources, problems);
  }
  return { ...fields, location, kind: 'package', resources, problems };
}

/** Loads every JSON file below a folder (recursively) that holds a conformance resource. */
export function loadFolder(dir: string): LoadedPackage {
  const abs = path.resolve(dir);
  const name = path.basename(abs);
  const source = `folder:${name}`;
  const resources: LoadedResource[] = [];
  const problems: string[] = [];
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && entry.name.endsWith('.json') && entry.name !== 'package.json') {
        collect(fs.readFileSync(full, 'utf8'), path.relative(abs, full), source, resources, problems);
      }
    }
  };
  walk(abs);
  return { name, dependencies: {}, location: abs, kind: 'folder', resources, problems };
}

function loadTarball(file: string): LoadedPackage {
  const problems: string[] = [];
  const entries = readTarGz(fs.readFileSync(file));
  let manifest: Manifest = {};
  const pkgJson = entries.get('package/package.json');
  if (pkgJson) {
    try {
      manifest = JSON.parse(pkgJson.toString('utf8')) as Manifest;
    } catch (e) {
      problems.push(`package/package.json: ${(e as Error).message}`);
    }
  } else {
    problems.push('package/package.json: missing');
  }
  const fields = manifestFields(manifest, path.basename(file).replace(/\.(tgz|tar\.gz)$/, ''));
  const source = sourceLabel(fields.name, fields.version);
  const resources: LoadedResource[] = [];
  for (const name of [...entries.keys()].sort()) {
    // Resources sit directly in package/ (not in package/example/ or package/other/).
    const m = /^package\/([^/]+\.json)$/.exec(name);
    if (!m || m[1] === 'package.json' || m[1]?.startsWith('.')) continue;
    collect((entries.get(name) ?? Buffer.alloc(0)).toString('utf8'), name, source, resources, problems);
  }
  return { ...fields, location: file, kind: 'package', resources, problems };
}

// ---------------------------------------------------------------------------------------------
// A small tar reader (POSIX ustar, with the pax `path` and GNU long-name extensions npm uses).

function cString(buf: Buffer, start: number, length: number): string {
  const slice = buf.subarray(start, start + length);
  const nul = slice.indexOf(0);
  return slice.subarray(0, nul < 0 ? slice.length : nul).toString('utf8');
}

function octal(buf: Buffer, start: number, length: number): number {
  const s = cString(buf, start, length).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

function paxPath(data: Buffer): string | undefined {
  // Records: "<len> key=value\n".
  let i = 0;
  const text = data.toString('utf8');
  while (i < text.length) {
    const sp = text.indexOf(' ', i);
    if (sp < 0) break;
    const len = parseInt(text.slice(i, sp), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = text.slice(sp + 1, i + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') return record.slice(eq + 1);
    i += len;
  }
  return undefined;
}

/**
 * The regular files of a gzip-compressed tar archive, by normalised path (leading `./` removed).
 * Throws a plain Error on a corrupt archive.
 */
export function readTarGz(archive: Buffer): Map<string, Buffer> {
  const tar = archive[0] === 0x1f && archive[1] === 0x8b ? zlib.gunzipSync(archive) : archive;
  const files = new Map<string, Buffer>();
  let offset = 0;
  let nextName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    if (!Number.isFinite(size) || size < 0) throw new Error(`corrupt tar header at offset ${offset}`);
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = cString(header, 345, 155);
    const rawName = cString(header, 0, 100);
    const dataStart = offset + 512;
    if (dataStart + size > tar.length) throw new Error(`truncated tar entry ${rawName}`);
    const data = tar.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      nextName = paxPath(data) ?? nextName;
      continue;
    }
    if (type === 'L') {
      nextName = cString(data, 0, data.length);
      continue;
    }
    if (type === 'g') continue;
    const name = (nextName ?? (prefix ? `${prefix}/${rawName}` : rawName)).replace(/^\.\//, '');
    nextName = undefined;
    if (type === '0' || type === '\0' || type === '7') files.set(name, Buffer.from(data));
  }
  return files;
}
