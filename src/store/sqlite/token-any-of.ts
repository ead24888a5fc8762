/**
 * The SQL condition of a token predicate's `anyOf` (FHIR R4 §3.1.1.4.1 search.html#token `:in`,
 * `:below`, `:above` expanded to (system, code) pairs; also the NHS trace's blocking keys, PDS FHIR
 * API "Search for a patient"): a row matches when its (system, code) equals one of the pairs, a null
 * system matching only a row without system.
 *
 * The pairs are grouped: the codes of each system, then the systems sharing the same codes, so a
 * cross product of S systems and C codes (a trace: 2 systems x 32 keys) is
 * `system IN (S) AND code IN (C)`, not an OR of S x C terms. SQLite evaluates a long OR of
 * `code = ? AND system IS ?` terms term by term for every row it reads (measured: 0.89 ms against
 * 0.07 ms for 64 pairs over 31 000 token rows); the meaning is the same. With several groups the
 * union of the codes leads (`code IN`), so the plan stays one index range per code.
 */
import { FALSE, frag, inList, join, type Frag } from './sql-text';

export interface TokenPair {
  system: string | null;
  code: string;
}

/** One group: the systems (null: no system) that share exactly these codes. */
interface PairGroup {
  systems: Array<string | null>;
  codes: string[];
}

/** Groups the pairs by system, then merges the systems whose code sets are equal (order kept). */
export function groupPairs(pairs: readonly TokenPair[]): PairGroup[] {
  const bySystem = new Map<string | null, Set<string>>();
  for (const p of pairs) {
    let codes = bySystem.get(p.system);
    if (!codes) bySystem.set(p.system, (codes = new Set()));
    codes.add(p.code);
  }
  const byCodes = new Map<string, PairGroup>();
  for (const [system, set] of bySystem) {
    const codes = [...set].sort();
    const key = JSON.stringify(codes);
    const group = byCodes.get(key);
    if (group) group.systems.push(system);
    else byCodes.set(key, { systems: [system], codes });
  }
  return [...byCodes.values()];
}

function systemCondition(col: string, systems: ReadonlyArray<string | null>): Frag {
  const named = systems.filter((s): s is string => s !== null);
  const parts: Frag[] = [];
  if (named.length > 0) parts.push(inList(col, named));
  if (named.length < systems.length) parts.push(frag(`${col} IS NULL`));
  return join('OR', parts);
}

/** The condition on an index row with alias `i` (`i.system`, `i.code`) for the pairs. */
export function anyOfCondition(i: string, pairs: readonly TokenPair[]): Frag {
  if (pairs.length === 0) return FALSE;
  const groups = groupPairs(pairs);
  const ofGroup = (g: PairGroup): Frag => join('AND', [inList(`${i}.code`, g.codes), systemCondition(`${i}.system`, g.systems)]);
  if (groups.length === 1) return ofGroup(groups[0]!);
  const allCodes = [...new Set(groups.flatMap((g) => g.codes))];
  return join('AND', [inList(`${i}.code`, allCodes), join('OR', groups.map(ofGroup))]);
}
