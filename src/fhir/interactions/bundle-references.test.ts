/**
 * The synchronous reference rewriting of a transaction (FHIR R4 bundle.html#references, http.html#trules;
 * bundle-references.ts rewriteAllReferences) against the general asynchronous walk it stands in for: the same
 * copy of every resource of the Synthea Bundles (when the material is present) and of hand-made
 * cases (nested Bundles, absolute fullUrls, relative references), the same error for an unresolved
 * placeholder, and the asynchronous walk (the store's search) for a conditional reference. Also
 * resolveConditionalReferences' pre-scan: the same object when nothing is conditional.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Bundle, Resource } from 'fhir/r4';
import type { InteractionContext } from '../context';
import { FhirError } from '../outcome';
import { resolveConditionalReferences } from '../references';
import type { StoreSession } from '../../store/store';
import { existingExternalPath, skipWithReason } from '../../../test/helpers/external-data';
import { rewriteAllReferences, rewriteReferences, type ReferenceScope } from './bundle-references';

/** A context whose every use but naming its session fails: a search for a conditional reference throws. */
const noStore = new Proxy({}, {
  get: (_t, key) => {
    if (key === 'session' || key === 'then') return undefined;
    throw new Error('the store was used');
  },
}) as InteractionContext;

async function both(resource: Resource, scope: ReferenceScope): Promise<{ fast: unknown; general: unknown }> {
  const general = await rewriteReferences(resource, scope, noStore, resource.resourceType, false).catch((e: unknown) => e);
  const fast = await rewriteAllReferences(resource, scope, noStore).catch((e: unknown) => e);
  return { fast, general };
}

function outcome(e: unknown): unknown {
  assert.ok(e instanceof FhirError, String(e));
  return { status: e.status, issues: e.issues };
}

describe('transaction reference rewriting: the synchronous walk', () => {
  it('gives the same copy as the general walk for every resource of the Synthea Bundles', async function () {
    this.timeout(120_000);
    const dir = existingExternalPath('synthea');
    if (!dir) skipWithReason(this, 'no Synthea bundles in shared/external/synthea');
    let resources = 0;
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
      const b = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Bundle;
      const idMap = new Map<string, string>();
      for (const e of b.entry ?? []) if (e.fullUrl && e.resource) idMap.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id ?? 'x'}`);
      for (const [i, e] of (b.entry ?? []).entries()) {
        const { fast, general } = await both(e.resource!, { idMap, base: undefined, entry: i });
        assert.deepStrictEqual(fast, general, `${f} entry ${i}`);
        assert.notEqual(fast, e.resource, 'a copy');
        resources++;
      }
    }
    assert.ok(resources > 1000);
  });

  it('the same for nested Bundles, absolute fullUrls and relative references', async () => {
    const idMap = new Map([['urn:uuid:a', 'Patient/1'], ['http://other/fhir/Patient/p', 'Patient/2']]);
    const doc = {
      resourceType: 'Bundle', type: 'document',
      entry: [
        { fullUrl: 'urn:uuid:inner', resource: { resourceType: 'Composition', subject: { reference: 'urn:uuid:a' }, section: [{ entry: [{ reference: 'urn:uuid:inner2' }] }] } },
        { resource: { resourceType: 'Observation', subject: { reference: 'urn:uuid:nowhere' }, hasMember: [{ reference: 'Patient/p' }] } },
      ],
    } as unknown as Resource;
    const obs = { resourceType: 'Observation', subject: { reference: 'Patient/p' }, performer: [{ reference: 'urn:uuid:a', display: 'x' }, { reference: 'Practitioner/q' }], contained: [{ resourceType: 'Patient', link: [{ other: { reference: 'urn:uuid:a' } }] }], note: [[{ reference: 'urn:uuid:a' }]] } as unknown as Resource;
    for (const [r, base] of [[doc, undefined], [obs, 'http://other/fhir'], [obs, undefined]] as const) {
      const { fast, general } = await both(r, { idMap, base, entry: 3 });
      assert.deepStrictEqual(fast, general);
    }
  });

  it('the same error for a placeholder that names no entry (the first in element order)', async () => {
    const r = { resourceType: 'Observation', subject: { reference: 'urn:uuid:a' }, performer: [{ reference: 'Practitioner/ok' }, { reference: 'urn:oid:1.2.3' }], focus: [{ reference: 'urn:uuid:later' }] } as unknown as Resource;
    const { fast, general } = await both(r, { idMap: new Map([['urn:uuid:a', 'Patient/1']]), base: undefined, entry: 0 });
    assert.deepStrictEqual(outcome(fast), outcome(general));
    assert.deepStrictEqual((fast as FhirError).issues[0]!.expression, ['Observation.performer[1].reference']);
  });

  it('hands a conditional reference to the general walk (the store answers it)', async () => {
    const r = { resourceType: 'Observation', subject: { reference: 'Patient?identifier=urn:s|1' } } as unknown as Resource;
    await assert.rejects(rewriteAllReferences(r, { idMap: new Map(), base: undefined, entry: 0 }, noStore), /the store was used/);
    // A placeholder error before the conditional reference is still the one reported.
    const first = { resourceType: 'Observation', focus: [{ reference: 'urn:uuid:x' }], subject: { reference: 'Patient?identifier=urn:s|1' } } as unknown as Resource;
    await assert.rejects(rewriteAllReferences(first, { idMap: new Map(), base: undefined, entry: 0 }, noStore), (e: unknown) => e instanceof FhirError && /urn:uuid:x/.test(e.issues[0]!.diagnostics ?? ''));
  });
});

describe('resolveConditionalReferences: the pre-scan', () => {
  const session = {} as StoreSession;

  it('answers the same object, without the store, when no reference is conditional', async () => {
    const r = { resourceType: 'Observation', subject: { reference: 'Patient/1' }, performer: [{ reference: 'urn:uuid:a' }] } as unknown as Resource;
    assert.equal(await resolveConditionalReferences(noStore, session, r), r);
    // A Bundle's entry resources are its own: a conditional reference there is not resolved.
    const b = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Observation', subject: { reference: 'Patient?identifier=a|b' } } }] } as unknown as Resource;
    assert.equal(await resolveConditionalReferences(noStore, session, b), b);
  });

  it('searches for a conditional reference anywhere else (also inside a Bundle outside entry.resource)', async () => {
    for (const r of [
      { resourceType: 'Observation', note: [{ text: 'x' }], performer: [{ display: 'y' }, { reference: 'Practitioner?identifier=a|b' }] },
      { resourceType: 'Bundle', type: 'collection', entry: [{ link: [{ reference: 'Patient?identifier=a|b' }] }] },
      { resourceType: 'List', entry: [{ item: { reference: 'Patient?identifier=a|b' }, resource: {} }] },
    ]) {
      await assert.rejects(resolveConditionalReferences(noStore, session, r as unknown as Resource), /the store was used/, JSON.stringify(r));
    }
  });
});
