/**
 * `Patient/$merge` (FHIR Patient-merge operation, as defined for FHIR R5 patient-operation-merge.html
 * and used here on R4; PDS "superseded" records): the source record is superseded by the target.
 *
 * Input (Parameters): `source-patient` (Reference) or `source-patient-identifier` (Identifier),
 * `target-patient` or `target-patient-identifier`, optional `result-patient` (the target as it should
 * read after the merge; its id must be the target's) and `preview` (boolean). Both records are written
 * in one atomic step with the versions read as optimistic locks: the source gets `active: false` and a
 * `replaced-by` link to the target; the target (or `result-patient`) gets a `replaces` link to the
 * source. Both keep their history. `preview=true` answers the same output without writing.
 * Output (Parameters): `input`, `outcome` (OperationOutcome) and `result` (the target after the merge).
 * Unknown records: 404 RESOURCE_NOT_FOUND; deleted (invalidated) ones: 410 (Spine coding
 * INVALIDATED_RESOURCE). Not done: references held by other resources to the source are not rewritten
 * (a read of the source answers it as stored, with its `replaced-by` link to the survivor; the trace
 * and `$match` return the survivor).
 */
import type { Identifier, OperationDefinition, Parameters, ParametersParameter, Patient, Reference } from 'fhir/r4';
import { atomic, type InteractionContext } from '../fhir/context';
import { findMatches } from '../fhir/conditional';
import { outcome } from '../fhir/outcome';
import { parseStored } from '../fhir/respond';
import { writeResource } from '../fhir/write';
import type { FhirRequest, FhirResult } from '../fhir/types';
import type { OperationInvocation } from '../operations/registry';
import type { StoreSession, StoredVersion } from '../store/store';
import { spineError } from './errors';
import { addReplaces, patientIdOf, replacedBy, supersede } from './links';

export const MERGE_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'Patient-merge',
  // R4 defines no Patient merge: this server's own definition, modelled on FHIR R5's (patient-operation-merge.html,
  // http://hl7.org/fhir/OperationDefinition/Patient-merge|5.0.0), so it must not claim that R5 canonical in an R4
  // CapabilityStatement (an R4 client resolving it finds nothing). Served at [base]/OperationDefinition/Patient-merge.
  url: 'http://spine-fhir-server.local/OperationDefinition/Patient-merge',
  name: 'Merge',
  title: 'Merge Patient Records',
  status: 'active',
  kind: 'operation',
  description:
    'Supersedes the source Patient by the target Patient (PDS merge; parameters as FHIR R5 Patient $merge, patient-operation-merge.html): the source becomes inactive with a replaced-by link to the target, the target gets a replaces link to the source, atomically. Reads of the source then answer the target. preview=true returns the outcome without writing.',
  affectsState: true,
  code: 'merge',
  resource: ['Patient'],
  system: false,
  type: true,
  instance: false,
  parameter: [
    { name: 'source-patient', use: 'in', min: 0, max: '1', type: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'], documentation: 'The record to be superseded (or give source-patient-identifier).' },
    { name: 'source-patient-identifier', use: 'in', min: 0, max: '*', type: 'Identifier', documentation: 'Identifier(s) of the record to be superseded, e.g. its NHS Number.' },
    { name: 'target-patient', use: 'in', min: 0, max: '1', type: 'Reference', targetProfile: ['http://hl7.org/fhir/StructureDefinition/Patient'], documentation: 'The surviving record (or give target-patient-identifier).' },
    { name: 'target-patient-identifier', use: 'in', min: 0, max: '*', type: 'Identifier', documentation: 'Identifier(s) of the surviving record.' },
    { name: 'result-patient', use: 'in', min: 0, max: '1', type: 'Patient', documentation: 'The surviving record as it should read after the merge (its id must be the target\'s); default: the stored target.' },
    { name: 'preview', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'true: answer what the merge would do without writing anything.' },
    { name: 'input', use: 'out', min: 1, max: '1', type: 'Parameters', documentation: 'The parameters given.' },
    { name: 'outcome', use: 'out', min: 1, max: '1', type: 'OperationOutcome', documentation: 'What was (or would be) done.' },
    { name: 'result', use: 'out', min: 0, max: '1', type: 'Patient', documentation: 'The surviving record after the merge.' },
  ],
};

function params(p: Parameters, name: string): ParametersParameter[] {
  return (p.parameter ?? []).filter((x) => x.name === name);
}

function oneRef(p: Parameters, name: string): Reference | undefined {
  const list = params(p, name);
  if (list.length > 1) throw spineError('invalid', 'TOO_MANY_VALUES_SUBMITTED', `$merge: ${name} may be given once`, name);
  const x = list[0];
  if (!x) return undefined;
  if (x.valueReference) return x.valueReference;
  if (typeof x.valueString === 'string') return { reference: x.valueString };
  throw spineError('invalid', 'INVALID_VALUE', `$merge: ${name} must be a Reference`, name);
}

function identifiers(p: Parameters, name: string): Identifier[] {
  return params(p, name).map((x) => {
    if (x.valueIdentifier?.value) return x.valueIdentifier;
    if (typeof x.valueString === 'string' && x.valueString.includes('|')) {
      const [system, value] = x.valueString.split('|', 2) as [string, string];
      return { system, value };
    }
    throw spineError('invalid', 'INVALID_VALUE', `$merge: ${name} must be an Identifier with a value (or system|value)`, name);
  });
}

async function locate(ctx: InteractionContext, session: StoreSession, p: Parameters, role: 'source' | 'target'): Promise<StoredVersion & { json: string }> {
  const ref = oneRef(p, `${role}-patient`);
  const ids = identifiers(p, `${role}-patient-identifier`);
  if (!ref && ids.length === 0) throw spineError('invalid', 'MISSING_VALUE', `$merge needs ${role}-patient or ${role}-patient-identifier`, `${role}-patient`);
  let id: string | undefined;
  if (ref) {
    id = patientIdOf(ref.reference);
    if (id === undefined) throw spineError('invalid', 'INVALID_VALUE', `$merge: ${role}-patient must reference Patient/<id> (got ${JSON.stringify(ref.reference ?? null)})`, `${role}-patient`);
  }
  for (const ident of ids) {
    const found = await findMatches(ctx, session, 'Patient', [['identifier', `${ident.system ? `${ident.system}|` : ''}${ident.value}`]], 2);
    if (found.length === 0) throw spineError('not-found', 'RESOURCE_NOT_FOUND', `$merge: no Patient has the ${role} identifier ${ident.system ?? ''}|${ident.value}`, `${role}-patient-identifier`);
    if (found.length > 1) throw spineError('invalid', 'INVALID_VALUE', `$merge: more than one Patient has the ${role} identifier ${ident.system ?? ''}|${ident.value}`, `${role}-patient-identifier`);
    const fid = found[0]!.id;
    if (id !== undefined && id !== fid) throw spineError('invalid', 'INVALID_VALUE', `$merge: the ${role} reference and identifiers name different Patients (${id}, ${fid})`, `${role}-patient-identifier`);
    id = fid;
  }
  const v = await session.read('Patient', id!);
  if (!v) throw spineError('not-found', 'RESOURCE_NOT_FOUND', `$merge: ${role} Patient ${id} does not exist`, `${role}-patient`);
  // Deleted (invalidated): 410 as a read answers it (Spine coding INVALIDATED_RESOURCE kept for a façade).
  if (v.deleted || v.json === undefined) throw spineError('gone', 'INVALIDATED_RESOURCE', `$merge: ${role} Patient ${id} has been deleted (invalidated)`, `${role}-patient`, { issueCode: 'deleted' });
  return v as StoredVersion & { json: string };
}

export async function mergeOperation(_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> {
  const input = inv.parameters;
  const previewParam = params(input, 'preview')[0];
  const preview = previewParam?.valueBoolean ?? previewParam?.valueString === 'true';
  const resultParams = params(input, 'result-patient');
  if (resultParams.length > 1) throw spineError('invalid', 'TOO_MANY_VALUES_SUBMITTED', '$merge: result-patient may be given once', 'result-patient');
  const given = resultParams[0]?.resource;
  if (given !== undefined && given.resourceType !== 'Patient') throw spineError('invalid', 'INVALID_VALUE', '$merge: result-patient must be a Patient', 'result-patient');

  const run = async (session: StoreSession): Promise<{ source: Patient; result: Patient; sourceId: string; targetId: string }> => {
    const sv = await locate(ctx, session, input, 'source');
    const tv = await locate(ctx, session, input, 'target');
    if (sv.id === tv.id) throw spineError('invalid', 'INVALID_VALUE', '$merge: source and target are the same Patient', 'target-patient');
    const sourceNow = parseStored(sv) as Patient;
    const targetNow = parseStored(tv) as Patient;
    const already = replacedBy(sourceNow);
    if (already !== undefined) throw spineError('unprocessable', 'INVALID_VALUE', `$merge: Patient ${sv.id} was already superseded by Patient ${already}`, 'source-patient');
    const targetSuperseded = replacedBy(targetNow);
    if (targetSuperseded !== undefined) throw spineError('unprocessable', 'INVALID_VALUE', `$merge: the target Patient ${tv.id} is itself superseded by Patient ${targetSuperseded}; merge into the survivor`, 'target-patient');
    if (given?.id !== undefined && given.id !== tv.id) throw spineError('invalid', 'INVALID_VALUE', `$merge: result-patient has id ${given.id}, not the target's ${tv.id}`, 'result-patient');
    const result = addReplaces({ ...((given as Patient | undefined) ?? targetNow), id: tv.id }, sv.id);
    const source = supersede(sourceNow, tv.id);
    if (!preview) {
      const s = await writeResource(ctx, session, { kind: 'update', resourceType: 'Patient', id: sv.id, resource: source, expectedVersion: sv.versionId, method: 'PUT' });
      const t = await writeResource(ctx, session, { kind: 'update', resourceType: 'Patient', id: tv.id, resource: result, expectedVersion: tv.versionId, method: 'PUT' });
      return { source: parseStored(s.version) as Patient, result: parseStored(t.version) as Patient, sourceId: sv.id, targetId: tv.id };
    }
    return { source, result, sourceId: sv.id, targetId: tv.id };
  };
  const done = preview ? await run(ctx.session) : await atomic(ctx, run);
  const message = preview
    ? `Preview: Patient ${done.sourceId} would be superseded by Patient ${done.targetId}; nothing was written`
    : `Patient ${done.sourceId} is superseded by Patient ${done.targetId}`;
  const out: Parameters = {
    resourceType: 'Parameters',
    parameter: [
      { name: 'input', resource: input },
      { name: 'outcome', resource: outcome('information', 'informational', message) },
      { name: 'result', resource: done.result },
    ],
  };
  return { status: 200, resource: out };
}
