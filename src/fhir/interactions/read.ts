/**
 * read and vread (FHIR R4 §3.1.0.1 http.html#read, §3.1.0.2 #vread), including conditional read
 * (If-None-Match / If-Modified-Since answer 304) and 410 Gone for deleted resources. An id with
 * characters an id may not have (datatypes.html#id) is a 400, never looked up.
 */
import { notModified, versionHeaders } from '../headers';
import { FhirError } from '../outcome';
import { readResult } from '../respond';
import type { InteractionContext } from '../context';
import type { FhirRequest, FhirResult } from '../types';
import type { StoredVersion } from '../../store/store';
import { assertValidId } from './update';

/** The server's clock (epoch ms): the services' clock when a test replaces it. */
function clock(ctx: InteractionContext): number {
  return (ctx.services.now?.() ?? new Date()).getTime();
}

export function assertLive(v: StoredVersion | undefined, resourceType: string, id: string): asserts v is StoredVersion & { json: string } {
  if (!v) throw new FhirError('not-found', { code: 'not-found', diagnostics: `Resource ${resourceType}/${id} is not known` });
  if (v.deleted) {
    throw new FhirError('gone', { code: 'deleted', diagnostics: `Resource ${resourceType}/${id} was deleted (version ${v.versionId})` }, { headers: versionHeaders(v) });
  }
}

export async function read(req: FhirRequest, ctx: InteractionContext, resourceType: string, id: string): Promise<FhirResult> {
  assertValidId(id);
  const v = await ctx.session.read(resourceType, id);
  assertLive(v, resourceType, id);
  if (notModified(req, v, clock(ctx))) return { status: 304, headers: versionHeaders(v) };
  return readResult(v);
}

export async function vread(req: FhirRequest, ctx: InteractionContext, resourceType: string, id: string, vid: string): Promise<FhirResult> {
  assertValidId(id);
  if (!/^\d{1,15}$/.test(vid)) {
    throw new FhirError('not-found', { code: 'not-found', diagnostics: `Version ${JSON.stringify(vid)} of ${resourceType}/${id} is not known (versions are 1, 2, 3 ...)` });
  }
  const v = await ctx.session.vread(resourceType, id, Number(vid));
  if (!v) {
    const current = await ctx.session.read(resourceType, id);
    const what = current ? `Version ${vid} of ${resourceType}/${id} is not known` : `Resource ${resourceType}/${id} is not known`;
    throw new FhirError('not-found', { code: 'not-found', diagnostics: what });
  }
  if (v.deleted) {
    throw new FhirError('gone', { code: 'deleted', diagnostics: `Version ${vid} of ${resourceType}/${id} is a deletion` }, { headers: versionHeaders(v) });
  }
  if (notModified(req, v, clock(ctx))) return { status: 304, headers: versionHeaders(v) };
  return readResult(v);
}
