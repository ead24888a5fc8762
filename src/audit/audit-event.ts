/**
 * The AuditEvent of one request, as IHE Basic Audit Log Patterns (BALP 1.1) records a RESTful
 * interaction (FHIR R4 auditevent.html): `type` rest, `subtype` the restful-interaction code, `action`
 * C/R/U/D/E, `recorded`, `outcome` 0/4/8 (success, client failure, server failure), agents (the client
 * application by `client_id`, the user by `fhirUser` or `sub`, the patient in context), `source` this
 * server, and entities: the resource, the query (base64), every patient concerned (role Patient, so
 * `AuditEvent?patient=` finds it) and the X-Request-ID.
 */
import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from 'fhir/r4';
import type { AuditRecord } from './record';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const BALP_ENTITY_TYPE = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';
const MAX_PATIENTS = 50;

export interface AuditSource {
  /** The server's FHIR base URL (the observer's identifier). */
  baseUrl: string;
  /** The token issuer (the system of client and user identifiers). */
  issuer: string;
}

/** The FHIR restful-interaction code of the request. */
export function subtypeCode(rec: AuditRecord): string {
  const i = rec.interaction;
  if (!i) {
    if (rec.pathInteraction === 'search') return rec.pathType === '-' ? 'search-system' : 'search-type';
    if (rec.pathInteraction === 'batch/transaction') return 'batch';
    return rec.pathInteraction;
  }
  switch (i.kind) {
    case 'search':
      return i.level === 'system' ? 'search-system' : 'search-type';
    case 'history':
      return `history-${i.level}`;
    default:
      return i.kind;
  }
}

/** BALP action: Create, Read, Update, Delete, or Execute (searches, operations, Bundles). */
export function actionOf(subtype: string): AuditEvent['action'] {
  if (subtype === 'create') return 'C';
  if (subtype === 'read' || subtype === 'vread' || subtype.startsWith('history') || subtype === 'capabilities') return 'R';
  if (subtype === 'update' || subtype === 'patch') return 'U';
  if (subtype === 'delete') return 'D';
  return 'E';
}

/** R4 AuditEvent.outcome: 0 success, 4 minor failure (the client's), 8 serious failure (the server's). */
export function outcomeOf(status: number): AuditEvent['outcome'] {
  if (status < 400) return '0';
  if (status < 500) return '4';
  return '8';
}

function patientRef(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = /(?:^|\/)Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(v);
  return m ? `Patient/${m[1]}` : undefined;
}

function resourcePatients(r: Record<string, unknown> | undefined, into: Set<string>): void {
  if (!r || typeof r !== 'object') return;
  if (r['resourceType'] === 'Patient' && typeof r['id'] === 'string') into.add(`Patient/${r['id']}`);
  for (const key of ['subject', 'patient', 'beneficiary']) {
    const ref = patientRef((r[key] as { reference?: unknown } | undefined)?.reference);
    if (ref) into.add(ref);
  }
}

/** A stored resource's text that begins with its type and id (serialiseWithMeta keeps the resource's key order). */
const PATIENT_HEAD = /^\{"resourceType":"Patient","id":"([A-Za-z0-9\-.]{1,64})"/;
/** The keys a parsed body would be read at besides its type and id (resourcePatients, a Bundle's entries). */
const PATIENT_KEYS = /"(?:subject|patient|beneficiary|entry)"/;

/**
 * The patients of a result's JSON text found without parsing it, when the text shows what the parse
 * would find: true when `into` then has them all, false when the text must be parsed. The texts are
 * the store's (JSON.stringify: no key twice, no letter escaped), so a text without `Patient` names no
 * patient, and a Patient whose text begins with its type and id and has none of the keys the parse
 * reads (subject, patient, beneficiary, a Bundle's entry) names only itself.
 */
function jsonPatients(json: string, into: Set<string>): boolean {
  if (!json.includes('Patient')) return true;
  const head = PATIENT_HEAD.exec(json);
  if (head === null || PATIENT_KEYS.test(json)) return false;
  into.add(`Patient/${head[1]!}`);
  return true;
}

/** The patients a request concerns: the token's patient, the path, patient query parameters and the result. */
export function patientsOf(rec: AuditRecord): string[] {
  const found = new Set<string>();
  const ctxPatient = rec.principal?.['patient'];
  if (typeof ctxPatient === 'string' && ctxPatient !== '') found.add(`Patient/${ctxPatient}`);
  const i = rec.interaction;
  if (i?.resourceType === 'Patient' && i.id !== undefined) found.add(`Patient/${i.id}`);
  if (i?.compartment?.type === 'Patient') found.add(`Patient/${i.compartment.id}`);
  for (const [name, value] of new URLSearchParams(rec.query)) {
    const base = name.split(':')[0];
    if (base === 'patient' || base === 'subject') {
      for (const v of value.split(',')) {
        const ref = patientRef(v) ?? (base === 'patient' && /^[A-Za-z0-9\-.]{1,64}$/.test(v) ? `Patient/${v}` : undefined);
        if (ref) found.add(ref);
      }
    }
    if (i?.resourceType === 'Patient' && (base === '_id' || (base === 'identifier' && value.startsWith('https://fhir.nhs.uk/Id/nhs-number|')))) {
      for (const v of value.split(',')) {
        const id = v.split('|').pop() ?? '';
        if (/^[A-Za-z0-9\-.]{1,64}$/.test(id)) found.add(`Patient/${id}`);
      }
    }
  }
  const result = rec.result;
  if (result && (rec.status ?? 0) < 400) resultPatients(result, found);
  return [...found].slice(0, MAX_PATIENTS);
}

/** Adds the patients a successful result's body names: itself, the patients it points at, a Bundle's entries'. */
function resultPatients(result: NonNullable<AuditRecord['result']>, into: Set<string>): void {
  if (result.resource === undefined && result.json !== undefined && jsonPatients(result.json, into)) return;
  let body: Record<string, unknown> | undefined;
  try {
    body = (result.resource ?? (result.json !== undefined ? JSON.parse(result.json) : undefined)) as Record<string, unknown> | undefined;
  } catch {
    body = undefined;
  }
  if (body?.['resourceType'] === 'Bundle' && Array.isArray(body['entry'])) {
    for (const e of body['entry'] as Array<{ resource?: Record<string, unknown> }>) {
      resourcePatients(e.resource, into);
      if (into.size >= MAX_PATIENTS) break;
    }
  } else {
    resourcePatients(body, into);
  }
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The AuditEvent of a finished request. */
export function buildAuditEvent(rec: AuditRecord, source: AuditSource): AuditEvent {
  const subtype = subtypeCode(rec);
  const status = rec.status ?? 0;
  const p = rec.principal;
  const agent: AuditEventAgent[] = [];
  const clientId = str(p?.['client_id']) ?? str(p?.['azp']);
  agent.push({
    type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
    ...(clientId !== undefined ? { who: { identifier: { system: source.issuer, value: clientId } } } : { who: { display: 'unauthenticated client' } }),
    requestor: clientId !== undefined && str(p?.['sub']) === undefined,
    ...(rec.clientAddress !== undefined ? { network: { address: rec.clientAddress, type: '2' as const } } : {}),
  });
  agent.push({
    type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] },
    who: { identifier: { value: source.baseUrl } },
    requestor: false,
  });
  const fhirUser = str(p?.['fhirUser']);
  const sub = str(p?.['sub']);
  if (fhirUser !== undefined || sub !== undefined) {
    agent.push({
      type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser', display: 'human user' }] },
      who: { ...(fhirUser !== undefined ? { reference: fhirUser.replace(/^.*\/(\w+\/[^/]+)$/, '$1') } : {}), ...(sub !== undefined ? { identifier: { system: source.issuer, value: sub } } : {}) },
      requestor: true,
    });
  }
  const entity: AuditEventEntity[] = [];
  const i = rec.interaction;
  if (i?.resourceType !== undefined) {
    entity.push({
      what: i.id !== undefined ? { reference: `${i.resourceType}/${i.id}${i.versionId !== undefined ? `/_history/${i.versionId}` : ''}` } : { display: i.resourceType },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
  } else if (rec.pathType !== '-') {
    entity.push({ what: { display: rec.pathType }, type: { system: ENTITY_TYPE, code: '2', display: 'System Object' }, role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' } });
  }
  if (rec.query !== '') {
    entity.push({
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
      query: Buffer.from(rec.query, 'utf8').toString('base64'),
    });
  }
  for (const ref of patientsOf(rec)) {
    entity.push({ what: { reference: ref }, type: { system: ENTITY_TYPE, code: '1', display: 'Person' }, role: { system: OBJECT_ROLE, code: '1', display: 'Patient' } });
  }
  entity.push({ what: { identifier: { value: rec.requestId } }, type: { system: BALP_ENTITY_TYPE, code: 'XrequestId', display: 'X-Request-Id' } });
  const subtypeCoding: Coding = { system: 'http://hl7.org/fhir/restful-interaction', code: subtype };
  if (i?.operation !== undefined) subtypeCoding.display = `$${i.operation}`;
  return {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' },
    subtype: [subtypeCoding],
    action: actionOf(subtype),
    recorded: (rec.recorded ?? new Date()).toISOString(),
    outcome: outcomeOf(status),
    outcomeDesc: `HTTP ${status} ${rec.method} ${rec.api}`,
    agent,
    source: {
      observer: { identifier: { value: source.baseUrl }, display: 'FHIR server' },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity,
  };
}
