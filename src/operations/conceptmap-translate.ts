/**
 * `ConceptMap/$translate` (FHIR R4 conceptmap-operation-translate.html, OperationDefinition
 * `ConceptMap-translate`): "Translate a code from one value set to another, based on the existing
 * value set and concept maps resources", at `[base]/ConceptMap/$translate` and
 * `[base]/ConceptMap/[id]/$translate`, GET or POST.
 *
 * Input: one of `code` (+ `system`, `version`), `coding`, `codeableConcept`; the map(s) by `url` (+
 * `conceptMapVersion`), as `conceptMap`, by the instance, or else every ConceptMap the server knows
 * (the R4 ones, profiles/ and FHIR_PACKAGES, and those stored through the API, a stored one winning
 * for the same url) whose `source`/`target` value sets equal the `source`/`target` given and whose
 * groups map the code's system (to `targetsystem` when given); `reverse=true` reads the maps backwards
 * (the codes that map to this code; equivalences turned round: wider/narrower, subsumes/specializes).
 * Output: `result` ("true if at least one returned match has an equivalence which is not unmatched or
 * disjoint"), `message`, and `match`es (parts `equivalence`, `concept`, `source` = the map's url).
 *
 * - An element's targets are its matches (unmatched and disjoint ones included: "the matches may
 *   include notes of codes for which mapping is specifically excluded"); a target with `dependsOn` is
 *   not a match here (the `dependency` input is not supported, so the mapping cannot be shown to hold)
 *   and the message says so.
 * - A code with no element in a group: the group's `unmapped` rule: `provided` (the code itself,
 *   equivalence `equal`), `fixed` (its code, equivalence `inexact`: a default, not a mapping of the
 *   code), `other-map` (the translation by the map it names, at most 5 maps deep).
 * - No ConceptMap of the server maps the code's system: 422 not-supported ("not available": this is
 *   no statement that no translation exists; SNOMED CT to ICD-10, for example, needs a terminology
 *   server); an unknown `url` or instance is 404. A map that covers the system but not the code
 *   answers `result: false` with a message when the server has the complete code system (it knows
 *   the code exists and is not mapped); for a system without complete local content (a ConceptMap
 *   fragment of SNOMED CT, say) it is 422 not-supported as well.
 */
import type { CodeableConcept, Coding, ConceptMap, ConceptMapGroup, OperationDefinition, Parameters, ParametersParameter } from 'fhir/r4';
import { restrictionsOf, restrictQuery } from '../fhir/access';
import { restrictionOf, type InteractionContext } from '../fhir/context';
import { FhirError } from '../fhir/outcome';
import type { FhirRequest, FhirResult } from '../fhir/types';
import { compareVersions, parseCanonical } from '../terminology/canonical';
import { OperationInput } from './parameters';
import type { OperationInvocation, OperationRegistry } from './registry';
import { exactlyOne, externalSystemName, instanceResource, type TerminologyDeps } from './terminology-support';

export const TRANSLATE_DEFINITION: OperationDefinition = {
  resourceType: 'OperationDefinition',
  id: 'ConceptMap-translate',
  url: 'http://hl7.org/fhir/OperationDefinition/ConceptMap-translate',
  version: '4.0.1',
  name: 'Translate',
  title: 'Concept Translation',
  status: 'active',
  kind: 'operation',
  description:
    'Translates a code with the ConceptMaps this server knows (R4, profiles/, FHIR_PACKAGES and stored ones). A system no local ConceptMap maps (e.g. SNOMED CT to ICD-10) answers 422 not-supported, never result=false.',
  affectsState: false,
  code: 'translate',
  resource: ['ConceptMap'],
  system: false,
  type: true,
  instance: true,
  parameter: [
    { name: 'url', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'Canonical url of the ConceptMap (optionally |version).' },
    { name: 'conceptMap', use: 'in', min: 0, max: '1', type: 'ConceptMap', documentation: 'The ConceptMap, given in the request (POST).' },
    { name: 'conceptMapVersion', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of the ConceptMap named by url.' },
    { name: 'code', use: 'in', min: 0, max: '1', type: 'code', documentation: 'The code to translate (with system).' },
    { name: 'system', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The system of code.' },
    { name: 'version', use: 'in', min: 0, max: '1', type: 'string', documentation: 'The version of the system (must equal the group sourceVersion where one is given).' },
    { name: 'source', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The value set the code comes from: only maps with this source.' },
    { name: 'coding', use: 'in', min: 0, max: '1', type: 'Coding', documentation: 'A Coding to translate (GET: system|code).' },
    { name: 'codeableConcept', use: 'in', min: 0, max: '1', type: 'CodeableConcept', documentation: 'A CodeableConcept: each of its codings is translated (POST).' },
    { name: 'target', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The value set translated into: only maps with this target.' },
    { name: 'targetsystem', use: 'in', min: 0, max: '1', type: 'uri', documentation: 'The code system translated into: only groups with this target.' },
    { name: 'reverse', use: 'in', min: 0, max: '1', type: 'boolean', documentation: 'The codes that map to this code.' },
    { name: 'result', use: 'out', min: 1, max: '1', type: 'boolean', documentation: 'Whether a match other than unmatched or disjoint was found.' },
    { name: 'message', use: 'out', min: 0, max: '1', type: 'string', documentation: 'Why not, or notes.' },
    {
      name: 'match',
      use: 'out',
      min: 0,
      max: '*',
      documentation: 'A concept the code translates to (or, reverse, from).',
      part: [
        { name: 'equivalence', use: 'out', min: 0, max: '1', type: 'code' },
        { name: 'concept', use: 'out', min: 0, max: '1', type: 'Coding' },
        { name: 'source', use: 'out', min: 0, max: '1', type: 'uri' },
      ],
    },
  ],
};

/** Most ConceptMaps stored through the API that one translation considers. */
const MAX_STORED_MAPS = 200;
const MAX_OTHER_MAP_DEPTH = 5;

const REVERSED: Readonly<Record<string, string>> = { wider: 'narrower', narrower: 'wider', subsumes: 'specializes', specializes: 'subsumes' };
const NO_MATCH = new Set(['unmatched', 'disjoint']);

interface Match {
  equivalence: string;
  concept: Coding;
  source: string;
}

interface Request {
  coding: Coding;
  source?: string;
  target?: string;
  targetsystem?: string;
  reverse: boolean;
}

const mapSource = (m: ConceptMap): string | undefined => m.sourceUri ?? m.sourceCanonical;
const mapTarget = (m: ConceptMap): string | undefined => m.targetUri ?? m.targetCanonical;

/** The ConceptMaps stored through the API matching `criteria`, as the caller may see them. */
async function storedMaps(ctx: InteractionContext, criteria: Array<[string, string]>): Promise<ConceptMap[]> {
  const restriction = restrictionOf(ctx, 'ConceptMap');
  if (restriction === 'none') return [];
  const { query } = ctx.services.search.parse(['ConceptMap'], criteria, { strict: true });
  const q = restrictQuery({ ...query, count: MAX_STORED_MAPS, offset: 0, sort: [], total: 'none' }, restriction, restrictionsOf(ctx));
  const page = await ctx.session.search(ctx.services.search.rewrite ? await ctx.services.search.rewrite(q, ctx.session) : q);
  return page.entries.filter((v) => v.json && !v.deleted).map((v) => JSON.parse(v.json!) as ConceptMap);
}

/**
 * One map per url: the first source (in the order given: stored, then the conformance registry) that
 * has the url wins, and within it the newest version (or exactly `version`). Maps without a url are kept.
 */
function byUrl(sources: ReadonlyArray<readonly ConceptMap[]>, version?: string): ConceptMap[] {
  const out = new Map<string, ConceptMap>();
  const noUrl: ConceptMap[] = [];
  for (const list of sources) {
    const here = new Map<string, ConceptMap>();
    for (const m of list) {
      if (version !== undefined && m.version !== version) continue;
      if (!m.url) {
        noUrl.push(m);
        continue;
      }
      if (out.has(m.url)) continue;
      const had = here.get(m.url);
      if (!had || compareVersions(m.version, had.version) > 0) here.set(m.url, m);
    }
    for (const [url, m] of here) out.set(url, m);
  }
  return [...out.values(), ...noUrl];
}

export class Translator {
  constructor(
    private readonly deps: TerminologyDeps,
    private readonly ctx: InteractionContext,
  ) {}

  /** Every map the server knows with this url (stored first). */
  async mapsWithUrl(url: string, version?: string): Promise<ConceptMap[]> {
    const stored = await storedMaps(this.ctx, [['url', url]]);
    const known = version !== undefined ? this.deps.conformance.resource('ConceptMap', url, version) : this.deps.conformance.resource('ConceptMap', url);
    return byUrl([stored, known ? [known] : []], version);
  }

  /** The maps that could translate a code of `system` (reverse: into `system`). */
  async candidates(r: Request): Promise<ConceptMap[]> {
    const system = r.coding.system!;
    const stored = await storedMaps(this.ctx, [[r.reverse ? 'target-system' : 'source-system', system]]);
    const known = this.deps.conformance.all('ConceptMap');
    return byUrl([stored, known]).filter((m) => (r.source === undefined || mapSource(m) === r.source) && (r.target === undefined || mapTarget(m) === r.target));
  }

  /** The groups of a map that apply to the request. */
  groups(map: ConceptMap, r: Request): ConceptMapGroup[] {
    return (map.group ?? []).filter((g) => {
      const from = r.reverse ? g.target : g.source;
      const to = r.reverse ? g.source : g.target;
      if (from !== r.coding.system) return false;
      if (r.targetsystem !== undefined && to !== r.targetsystem) return false;
      const version = r.reverse ? g.targetVersion : g.sourceVersion;
      return r.coding.version === undefined || version === undefined || version === r.coding.version;
    });
  }

  /** The matches of one code in one map, and notes for the message. */
  async translate(map: ConceptMap, r: Request, notes: string[], depth = 0): Promise<Match[]> {
    const source = map.url ?? 'the ConceptMap given';
    const code = r.coding.code!;
    const out: Match[] = [];
    for (const g of this.groups(map, r)) {
      const to = (r.reverse ? g.source : g.target) ?? '';
      const toVersion = r.reverse ? g.sourceVersion : g.targetVersion;
      const concept = (c: string | undefined, display: string | undefined): Coding => ({ ...(to ? { system: to } : {}), ...(toVersion ? { version: toVersion } : {}), ...(c !== undefined ? { code: c } : {}), ...(display !== undefined ? { display } : {}) });
      let found = false;
      for (const e of g.element ?? []) {
        for (const t of e.target ?? []) {
          const hit = r.reverse ? t.code === code : e.code === code;
          if (!hit) continue;
          found = true;
          if (t.dependsOn?.length) {
            notes.push(`${source} maps ${code} with dependencies (${t.dependsOn.map((d) => d.property).join(', ')}) that were not considered (the dependency parameter is not supported)`);
            continue;
          }
          const equivalence = r.reverse ? (REVERSED[t.equivalence] ?? t.equivalence) : t.equivalence;
          out.push({ equivalence, concept: r.reverse ? concept(e.code, e.display) : concept(t.code, t.display), source });
        }
        if (!r.reverse && e.code === code && (e.target ?? []).length === 0) found = true;
      }
      if (found || r.reverse || !g.unmapped) continue;
      const u = g.unmapped;
      if (u.mode === 'provided') out.push({ equivalence: 'equal', concept: concept(code, r.coding.display), source });
      else if (u.mode === 'fixed' && u.code) out.push({ equivalence: 'inexact', concept: concept(u.code, u.display), source });
      else if (u.mode === 'other-map' && u.url) {
        if (depth >= MAX_OTHER_MAP_DEPTH) {
          notes.push(`${source}: the chain of other-map rules is deeper than ${MAX_OTHER_MAP_DEPTH}; not followed`);
          continue;
        }
        const { url, version } = parseCanonical(u.url);
        const next = (await this.mapsWithUrl(url, version))[0];
        if (!next) notes.push(`${source} sends unmapped codes to the ConceptMap ${u.url}, which is not known to this server`);
        else out.push(...(await this.translate(next, r, notes, depth + 1)));
      }
    }
    return out;
  }
}

function codingsOf(input: OperationInput, op: string): Coding[] {
  const [from] = exactlyOne(op, [
    ['code', input.string('code')],
    ['coding', input.coding('coding')],
    ['codeableConcept', input.has('codeableConcept') ? true : undefined],
  ]);
  const version = input.string('version');
  if (from === 'code') {
    const system = input.string('system');
    if (system === undefined) throw new FhirError('invalid', { code: 'required', diagnostics: '$translate: a code needs its system (parameter system)', expression: ['system'] });
    return [{ system, code: input.string('code')!, ...(version !== undefined ? { version } : {}) }];
  }
  if (input.has('system')) throw new FhirError('invalid', { diagnostics: `$translate: system goes with code; a ${from} carries its own system`, expression: ['system'] });
  const codings = from === 'coding' ? [input.coding('coding')!] : ((input.codeableConcept('codeableConcept') as CodeableConcept).coding ?? []);
  const usable = codings.filter((c) => typeof c.code === 'string' && c.code !== '').map((c) => (version !== undefined && c.version === undefined ? { ...c, version } : c));
  for (const c of usable) if (!c.system) throw new FhirError('invalid', { code: 'required', diagnostics: `$translate: the coding ${c.code} has no system`, expression: [from] });
  if (usable.length === 0) throw new FhirError('invalid', { code: 'required', diagnostics: '$translate: no coding with a code to translate', expression: [from] });
  return usable;
}

export function translateOperation(deps: TerminologyDeps) {
  return async (_req: FhirRequest, inv: OperationInvocation, ctx: InteractionContext): Promise<FhirResult> => {
    const op = 'translate';
    const input = new OperationInput(inv, op);
    input.assertDeclared(TRANSLATE_DEFINITION);
    const codings = codingsOf(input, op);
    const base = { reverse: input.boolean('reverse') ?? false } as const;
    const source = input.string('source');
    const target = input.string('target');
    const targetsystem = input.string('targetsystem');
    const translator = new Translator(deps, ctx);

    // The maps named (instance, url, conceptMap), or undefined: every candidate.
    let named: ConceptMap[] | undefined;
    if (inv.level === 'instance') {
      if (input.has('url') || input.has('conceptMap')) throw new FhirError('invalid', { diagnostics: `$translate on ConceptMap/${inv.id}: url and conceptMap cannot be given as well`, expression: ['url'] });
      named = [await instanceResource<ConceptMap>(ctx, inv)];
    } else if (input.has('conceptMap')) {
      if (input.has('url')) throw new FhirError('invalid', { diagnostics: '$translate: give url or conceptMap, not both', expression: ['url'] });
      named = [input.resource<ConceptMap>('conceptMap', 'ConceptMap')!];
    } else {
      const url = input.string('url');
      if (url !== undefined) {
        const c = parseCanonical(url);
        const version = input.string('conceptMapVersion') ?? c.version;
        named = await translator.mapsWithUrl(c.url, version);
        if (named.length === 0) throw new FhirError('not-found', { code: 'not-found', diagnostics: `$translate: the ConceptMap ${url}${version !== undefined && c.version === undefined ? `|${version}` : ''} is not known to this server` });
      }
    }
    if (named === undefined && input.has('conceptMapVersion')) throw new FhirError('invalid', { diagnostics: '$translate: conceptMapVersion goes with url', expression: ['conceptMapVersion'] });

    const matches: Match[] = [];
    const notes: string[] = [];
    let covered = false;
    for (const coding of codings) {
      const r: Request = { coding, ...base, ...(source !== undefined ? { source } : {}), ...(target !== undefined ? { target } : {}), ...(targetsystem !== undefined ? { targetsystem } : {}) };
      const maps = (named ?? (await translator.candidates(r))).filter((m) => translator.groups(m, r).length > 0);
      if (maps.length === 0) continue;
      covered = true;
      const found: Match[] = [];
      for (const m of maps) found.push(...(await translator.translate(m, r, notes)));
      if (found.length === 0) notes.push(`${coding.system}|${coding.code} is not mapped by ${maps.map((m) => m.url ?? 'the ConceptMap given').join(', ')}`);
      matches.push(...found);
    }
    if (!covered) {
      const systems = [...new Set(codings.map((c) => c.system!))];
      const names = systems.map((s) => (externalSystemName(s) ? `${externalSystemName(s)} (${s})` : s)).join(', ');
      const scope = named ? `the ConceptMap${named.length > 1 ? 's' : ''} named` : 'no ConceptMap known to this server';
      throw new FhirError('unprocessable', {
        code: 'not-supported',
        diagnostics: `$translate: ${named ? `${scope} do${named.length > 1 ? '' : 'es'} not map` : `${scope} maps`} codes ${base.reverse ? 'into' : 'of'} ${names}${targetsystem !== undefined ? ` ${base.reverse ? 'from' : 'to'} ${targetsystem}` : ''}${source !== undefined || target !== undefined ? ' between the value sets given' : ''}; a translation is not available here (this is no statement that none exists)`,
      });
    }
    if (matches.length === 0) {
      // The maps cover the system but not this code. For a code system without complete local
      // content (SNOMED CT, dm+d ...) the maps known here are partial by nature: "no match" would read
      // as "no translation exists", so the answer is "not available" instead.
      const local = await Promise.all(codings.map(async (c) => (await deps.terminology.codeSystemIndex(c.system!))?.content === 'complete'));
      if (!local.some((x) => x)) {
        const names = [...new Set(codings.map((c) => `${externalSystemName(c.system!) ?? 'the code system'} ${c.system}|${c.code}`))].join(', ');
        throw new FhirError('unprocessable', {
          code: 'not-supported',
          diagnostics: `$translate: ${names} is not in the ConceptMaps this server has for that system (${notes.join('; ')}); it has no complete content for the system, so a translation is not available here (this is no statement that none exists)`,
        });
      }
    }
    const result = matches.some((m) => !NO_MATCH.has(m.equivalence));
    const parameter: ParametersParameter[] = [{ name: 'result', valueBoolean: result }];
    if (notes.length > 0 || !result) parameter.push({ name: 'message', valueString: notes.length > 0 ? notes.join('; ') : 'only unmatched or disjoint mappings were found' });
    for (const m of matches) {
      parameter.push({ name: 'match', part: [{ name: 'equivalence', valueCode: m.equivalence }, { name: 'concept', valueCoding: m.concept }, { name: 'source', valueUri: m.source }] });
    }
    const out: Parameters = { resourceType: 'Parameters', parameter };
    return { status: 200, resource: out };
  };
}

export function registerTranslate(registry: OperationRegistry, deps: TerminologyDeps): void {
  registry.register(TRANSLATE_DEFINITION, translateOperation(deps));
}
