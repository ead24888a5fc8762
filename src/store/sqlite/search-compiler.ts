/**
 * Compiles the search IR to SQL over the typed index tables (FHIR R4 §3.1.1 search.html: parameter
 * types, modifiers, prefixes, chaining, reverse chaining (`_has`), `:missing`, composite parameters,
 * `_sort`).
 *
 * Plan shape ("drive and probe"): in each conjunction the conjunct with the best static selectivity
 * estimate (`driverRank`: reference/identifier < token code, exact string/uri < string prefix, FTS <
 * chain/_has < date/number/quantity range < full-parameter scans) DRIVES: it becomes a membership
 * test `rid IN (SELECT rid FROM <index> WHERE type, param, value...)` led by the selective columns of
 * that table's indexes, so SQLite produces the candidates from one index range. Every other conjunct
 * is a PROBE: a correlated `EXISTS` on the index table's `(rid, param)` index, i.e. a point lookup
 * per candidate (never the materialised set of all resources matching it, which for a date range or
 * a common code is a large share of the table). Probes that need only the rid run inside the driving
 * subquery, so only rows that pass them reach the resource table. `_has` as a probe goes from the
 * candidate to the resources referring to it (`ix_reference` by target). The plan never changes a
 * result: both forms mean "ANY entry of the parameter satisfies the condition".
 * Values are always bound parameters; no LIKE (prefixes are index ranges, contains is `instr`).
 * A resource matches a typed predicate if ANY of its entries for the parameter satisfies it.
 * `_text` / `_content` are FTS5 MATCH queries (every word, as a quoted phrase of one token) on the
 * FTS table of the scope, whose rowid is the resource's rid.
 * Sort keys become correlated MIN/MAX subqueries over the parameter's index rows (chained keys join
 * through ix_reference and resource), or the resource's own columns for `_id` / `_lastUpdated`.
 * Unresolved IR (`list`, token `valueSet` / `hierarchy`) is refused: rewrite.ts resolves it first.
 */
import { FhirError } from '../../fhir/outcome';
import type { IndexKind } from '../../search/index-entry';
import type { CompositePredicate, Predicate, SearchExpr, SortKey } from '../../search/ir';
import { textWords } from '../../search/normalize';
import { rangeCondition, type Bound, type RangeCondition } from '../../search/range-semantics';
import { COMPONENT_SEPARATOR, INDEX_TABLE, TEXT_TABLE } from './schema';
import { contains, FALSE, frag, inList, join, startsWith, TRUE, type Frag, type SqlValue } from './sql-text';
import { anyOfCondition } from './token-any-of';

/** Predicates that live in exactly one index table. */
type TypedPredicate = Extract<Predicate, { op: 'token' | 'string' | 'date' | 'number' | 'quantity' | 'reference' | 'uri' }>;

const TABLE_OF_OP: Readonly<Record<TypedPredicate['op'], string>> = {
  token: INDEX_TABLE.token,
  string: INDEX_TABLE.string,
  date: INDEX_TABLE.date,
  number: INDEX_TABLE.number,
  quantity: INDEX_TABLE.quantity,
  reference: INDEX_TABLE.reference,
  uri: INDEX_TABLE.uri,
};

/** How a predicate is compiled: producing candidate rows, or testing one known row (see `compile`). */
type Mode = 'drive' | 'probe';

/** One ORDER BY key: its value expression and whether it can be NULL (no value). */
export interface SortColumn {
  value: Frag;
  nullable: boolean;
}

function unresolved(what: string): FhirError {
  return new FhirError('fault', `search ${what} reached the SQLite compiler unresolved (run rewriteQuery first)`);
}

/** Compiles one search expression; `alias` names the `resource` row the expression is about. */
export class SearchCompiler {
  private counter = 0;

  /**
   * Boolean SQL over `alias` (a row of `resource` whose type is one of `types`; empty = any type),
   * in `drive` mode: the expression may produce the candidate rows (see the module header).
   */
  expr(e: SearchExpr, alias: string, types: readonly string[]): Frag {
    return this.compile(e, alias, types, 'drive');
  }

  /**
   * `drive`: a conjunction lets its most selective conjunct (driverIndex) produce the candidate rows as
   * `alias.rid IN (SELECT rid FROM <index> WHERE <seekable condition>)` and tests every other conjunct
   * as a probe. `probe`: the row is already known, so each predicate is a correlated `EXISTS` over the
   * index table's `(rid, param)` index: a point lookup per candidate instead of materialising the
   * whole, possibly large, set of rows matching the predicate. Both forms mean the same thing (a
   * resource matches when ANY of its entries satisfies the condition), only the plan differs.
   */
  private compile(e: SearchExpr, alias: string, types: readonly string[], mode: Mode): Frag {
    switch (e.op) {
      case 'and': {
        const driver = mode === 'drive' ? driverIndex(e.args) : -1;
        const d = e.args[driver];
        if (d !== undefined && d.op in TABLE_OF_OP) {
          // Probes that only need the rid run inside the driving subquery, on the index row: only
          // the rows that pass them reach the (large) resource table.
          const i = this.alias('i');
          const others = e.args.filter((_, n) => n !== driver);
          const inner = others.filter(needsRidOnly).map((a) => this.compile(a, i, types, 'probe'));
          const outer = others.filter((a) => !needsRidOnly(a)).map((a) => this.compile(a, alias, types, 'probe'));
          const typed = d as TypedPredicate;
          const lookup = this.member(alias, TABLE_OF_OP[typed.op], i, types, typed.param, join('AND', [this.typedConditions(typed, i), ...inner]));
          return join('AND', [lookup, ...outer]);
        }
        return join(
          'AND',
          e.args.map((a, n) => this.compile(a, alias, types, n === driver ? 'drive' : 'probe')),
        );
      }
      case 'or':
        return join('OR', e.args.map((a) => this.compile(a, alias, types, mode)));
      case 'not': {
        // A negation never produces candidates: probe the rows it is asked about.
        const inner = this.compile(e.arg, alias, types, 'probe');
        return { sql: `NOT (${inner.sql})`, params: inner.params };
      }
      default:
        return mode === 'drive' ? this.predicate(e, alias, types) : this.probe(e, alias, types);
    }
  }

  /**
   * The number of distinct rids matching `e` read from the driving index table alone (`SELECT
   * COUNT(DISTINCT i.rid) AS n FROM <index> i WHERE …`), or undefined when `e` needs a column of the resource row: `e` must be a
   * typed predicate, or a conjunction driven by one whose other conjuncts need only the rid (they
   * become probes on the index row). Index rows exist only for live resources and carry the
   * resource's type, so this counts the same resources as the full statement without reading the
   * (large) resource table.
   */
  countRidsOnly(e: SearchExpr, types: readonly string[]): Frag | undefined {
    let driver: SearchExpr | undefined = e;
    let others: SearchExpr[] = [];
    if (e.op === 'and') {
      const n = driverIndex(e.args);
      driver = e.args[n];
      others = e.args.filter((_, k) => k !== n);
    }
    if (driver === undefined || !isTyped(driver) || !others.every(needsRidOnly)) return undefined;
    const i = this.alias('i');
    const t = inList(`${i}.type`, types);
    const cond = join('AND', [this.typedConditions(driver, i), ...others.map((a) => this.compile(a, i, types, 'probe'))]);
    return {
      sql: `SELECT COUNT(DISTINCT ${i}.rid) AS n FROM ${TABLE_OF_OP[driver.op]} ${i} WHERE ${t.sql} AND ${i}.param = ? AND (${cond.sql})`,
      params: [...t.params, driver.param, ...cond.params],
    };
  }

  /** A predicate tested against one known row `alias` (correlated point lookups, see `compile`). */
  private probe(p: Predicate, alias: string, types: readonly string[]): Frag {
    switch (p.op) {
      case 'token':
      case 'string':
      case 'date':
      case 'number':
      case 'quantity':
      case 'reference':
      case 'uri': {
        // The index rows of a resource always carry its own type, so `rid` alone identifies them.
        const i = this.alias('i');
        const cond = this.typedConditions(p, i);
        return { sql: `EXISTS (SELECT 1 FROM ${TABLE_OF_OP[p.op]} ${i} WHERE ${i}.rid = ${alias}.rid AND ${i}.param = ? AND (${cond.sql}))`, params: [p.param, ...cond.params] };
      }
      case 'missing': {
        if (p.kind === 'text') return this.predicate(p, alias, types);
        const i = this.alias('i');
        const sub = frag(`EXISTS (SELECT 1 FROM ${INDEX_TABLE[p.kind]} ${i} WHERE ${i}.rid = ${alias}.rid AND ${i}.param = ?)`, p.param);
        return p.missing ? { sql: `NOT ${sub.sql}`, params: sub.params } : sub;
      }
      case 'chain': {
        if (p.targetTypes.length === 0) return FALSE;
        const x = this.alias('x');
        const t = this.alias('t');
        const where = this.compile(p.where, t, p.targetTypes, 'probe');
        const xtargets = inList(`${x}.target_type`, p.targetTypes);
        return {
          sql:
            `EXISTS (SELECT 1 FROM ix_reference ${x} JOIN resource ${t} ON ${t}.type = ${x}.target_type AND ${t}.id = ${x}.target_id ` +
            `WHERE ${x}.rid = ${alias}.rid AND ${x}.param = ? AND ${xtargets.sql} AND ${t}.deleted = 0 AND (${where.sql}))`,
          params: [p.param, ...xtargets.params, ...where.params],
        };
      }
      case 'has': {
        // Drive from the referring side: the references to this row, then the referring resources.
        const x = this.alias('x');
        if (needsRidOnly(p.where)) {
          // Index rows exist only for live resources, and x.type is the referring resource's type:
          // the referring resource's own row is not needed.
          const where = this.compile(p.where, x, [p.targetType], 'probe');
          return {
            sql: `EXISTS (SELECT 1 FROM ix_reference ${x} WHERE ${x}.target_type = ${alias}.type AND ${x}.target_id = ${alias}.id AND ${x}.param = ? AND ${x}.type = ? AND (${where.sql}))`,
            params: [p.param, p.targetType, ...where.params],
          };
        }
        const t = this.alias('t');
        const where = this.compile(p.where, t, [p.targetType], 'probe');
        return {
          sql:
            `EXISTS (SELECT 1 FROM ix_reference ${x} JOIN resource ${t} ON ${t}.rid = ${x}.rid ` +
            `WHERE ${x}.target_type = ${alias}.type AND ${x}.target_id = ${alias}.id AND ${x}.param = ? AND ${x}.type = ? AND ${t}.deleted = 0 AND (${where.sql}))`,
          params: [p.param, p.targetType, ...where.params],
        };
      }
      case 'composite':
        return this.composite(p, alias, types, 'probe');
      default:
        return this.predicate(p, alias, types);
    }
  }

  private predicate(p: Predicate, alias: string, types: readonly string[]): Frag {
    switch (p.op) {
      case 'token':
      case 'string':
      case 'date':
      case 'number':
      case 'quantity':
      case 'reference':
      case 'uri': {
        const i = this.alias('i');
        const cond = this.typedConditions(p, i);
        return this.member(alias, TABLE_OF_OP[p.op], i, types, p.param, cond);
      }
      case 'text': {
        const words = textWords(p.query);
        if (words.length === 0) return FALSE;
        const table = TEXT_TABLE[p.scope === 'narrative' ? '_text' : '_content'];
        // Each word is letters and digits only, so quoting it makes it a literal one-token phrase.
        return frag(`${alias}.rid IN (SELECT rowid FROM ${table} WHERE ${table} MATCH ?)`, words.map((w) => `"${w}"`).join(' '));
      }
      case 'list':
        throw unresolved('_list');
      case 'missing': {
        if (p.kind === 'text') {
          const table = p.param === '_text' || p.param === '_content' ? TEXT_TABLE[p.param] : undefined;
          if (table === undefined) return p.missing ? TRUE : FALSE;
          const sub = frag(`EXISTS (SELECT 1 FROM ${table} WHERE rowid = ${alias}.rid)`);
          return p.missing ? { sql: `NOT ${sub.sql}`, params: [] } : sub;
        }
        const i = this.alias('i');
        const sub = this.member(alias, INDEX_TABLE[p.kind], i, types, p.param, TRUE);
        return p.missing ? { sql: `NOT (${sub.sql})`, params: sub.params } : sub;
      }
      case 'id':
        return p.ids.length === 0 ? FALSE : inList(`${alias}.id`, p.ids);
      case 'lastUpdated':
        return rangeSql(rangeCondition(p.prefix, p, p.approxDelta ?? 0), `${alias}.last_updated`, `${alias}.last_updated`);
      case 'chain': {
        if (p.targetTypes.length === 0) return FALSE;
        const x = this.alias('x');
        const t = this.alias('t');
        const where = this.expr(p.where, t, p.targetTypes);
        const ttypes = inList(typeColumn(`${t}.type`, p.where), p.targetTypes);
        const xtypes = inList(`${x}.type`, types);
        const xtargets = inList(`${x}.target_type`, p.targetTypes);
        return {
          sql:
            `${alias}.rid IN (SELECT ${x}.rid FROM ix_reference ${x} WHERE ${xtypes.sql} AND ${x}.param = ? AND ${xtargets.sql} AND ` +
            `(${x}.target_type, ${x}.target_id) IN (SELECT ${t}.type, ${t}.id FROM resource ${t} WHERE ${ttypes.sql} AND ${t}.deleted = 0 AND (${where.sql})))`,
          params: [...xtypes.params, p.param, ...xtargets.params, ...ttypes.params, ...where.params],
        };
      }
      case 'has': {
        const h = this.alias('h');
        const x = this.alias('x');
        const t = this.alias('t');
        const where = this.expr(p.where, t, [p.targetType]);
        const htypes = inList(`${h}.type`, types);
        return {
          // The referenced rows, found through the (type, id) index: a row set like every other predicate.
          // No NULL reaches an IN list, so `not(...)` stays two-valued.
          sql:
            `${alias}.rid IN (SELECT ${h}.rid FROM resource ${h} WHERE ${htypes.sql} AND (${h}.type, ${h}.id) IN (` +
            `SELECT ${x}.target_type, ${x}.target_id FROM ix_reference ${x} WHERE ${x}.type = ? AND ${x}.param = ? AND ` +
            `${x}.target_type IS NOT NULL AND ${x}.target_id IS NOT NULL AND ` +
            `${x}.rid IN (SELECT ${t}.rid FROM resource ${t} WHERE ${typeColumn(`${t}.type`, p.where)} = ? AND ${t}.deleted = 0 AND (${where.sql}))))`,
          params: [...htypes.params, p.targetType, p.param, p.targetType, ...where.params],
        };
      }
      case 'composite':
        return this.composite(p, alias, types);
    }
  }

  /** `alias.rid IN (SELECT rid FROM table WHERE type/param match AND cond)`. */
  private member(alias: string, table: string, i: string, types: readonly string[], param: string, cond: Frag): Frag {
    const t = inList(`${i}.type`, types);
    return {
      sql: `${alias}.rid IN (SELECT ${i}.rid FROM ${table} ${i} WHERE ${t.sql} AND ${i}.param = ? AND (${cond.sql}))`,
      params: [...t.params, param, ...cond.params],
    };
  }

  /**
   * All components within one composite entry. `drive`: the composite rows come from the first
   * component's index lookup; `probe`: the composite rows of the known resource. Further components
   * are point lookups by `cid`.
   */
  private composite(p: CompositePredicate, alias: string, types: readonly string[], mode: Mode = 'drive'): Frag {
    const c = this.alias('c');
    const parts: Frag[] = p.components.map((comp, n) => {
      if (!isTyped(comp)) throw new FhirError('unsupported', `composite ${p.param}: a ${comp.op} component is not supported`);
      const i = this.alias('i');
      const cond = this.typedConditions(comp, i);
      const param = `${p.param}${COMPONENT_SEPARATOR}${comp.param}`;
      if (mode === 'drive' && n === 0) {
        const t = inList(`${i}.type`, types);
        return {
          sql: `${c}.cid IN (SELECT ${i}.cid FROM ${TABLE_OF_OP[comp.op]} ${i} WHERE ${t.sql} AND ${i}.param = ? AND (${cond.sql}))`,
          params: [...t.params, param, ...cond.params],
        };
      }
      return { sql: `EXISTS (SELECT 1 FROM ${TABLE_OF_OP[comp.op]} ${i} WHERE ${i}.cid = ${c}.cid AND ${i}.param = ? AND (${cond.sql}))`, params: [param, ...cond.params] };
    });
    const all = join('AND', parts);
    if (mode === 'probe') {
      return { sql: `EXISTS (SELECT 1 FROM ix_composite ${c} WHERE ${c}.rid = ${alias}.rid AND ${c}.param = ? AND (${all.sql}))`, params: [p.param, ...all.params] };
    }
    const t = inList(`${c}.type`, types);
    return {
      sql: `${alias}.rid IN (SELECT ${c}.rid FROM ix_composite ${c} WHERE ${t.sql} AND ${c}.param = ? AND (${all.sql}))`,
      params: [...t.params, p.param, ...all.params],
    };
  }

  /** The condition on one index row (alias `i`) of the predicate's table. */
  private typedConditions(p: TypedPredicate, i: string): Frag {
    switch (p.op) {
      case 'token':
        if (p.valueSet !== undefined || p.hierarchy !== undefined) throw unresolved(`parameter ${p.param} (:in/:not-in/:below/:above)`);
        // One of, in this order (as the in-memory matcher): :of-type, :text, anyOf, system|code.
        if (p.ofType !== undefined) {
          return frag(`${i}.type_system = ? AND ${i}.type_code = ? AND ${i}.code = ?`, p.ofType.system, p.ofType.code, p.ofType.value);
        }
        if (p.text !== undefined) return join('AND', [frag(`${i}.text IS NOT NULL`), startsWith(`${i}.text`, p.text)]);
        if (p.anyOf !== undefined) {
          return anyOfCondition(i, p.anyOf);
        }
        return join('AND', [
          ...(p.code !== undefined ? [frag(`${i}.code = ?`, p.code)] : []),
          ...(p.system === null ? [frag(`${i}.system IS NULL`)] : p.system !== undefined ? [frag(`${i}.system = ?`, p.system)] : []),
        ]);
      case 'string':
        if (p.mode === 'exact') return frag(`${i}.exact = ?`, p.value);
        if (p.mode === 'contains') return contains(`${i}.norm`, p.value);
        return startsWith(`${i}.norm`, p.value);
      case 'date':
      case 'number':
        return rangeSql(rangeCondition(p.prefix, p, p.approxDelta ?? 0), `${i}.low`, `${i}.high`);
      case 'quantity': {
        const parts: Frag[] = [];
        const code = typeof p.code === 'string' ? p.code : undefined;
        if (p.system === undefined) {
          // `value||unit`: any system, the code or the unit as written.
          if (code !== undefined) parts.push(frag(`${i}.code = ? OR ${i}.unit = ?`, code, code));
        } else {
          parts.push(p.system === null ? frag(`${i}.system IS NULL`) : frag(`${i}.system = ?`, p.system));
          if (code !== undefined) parts.push(frag(`${i}.code = ?`, code));
        }
        parts.push(rangeSql(rangeCondition(p.prefix, p, p.approxDelta ?? 0), `${i}.low`, `${i}.high`));
        return join('AND', parts);
      }
      case 'reference':
        // One of, in this order (as the in-memory matcher): :identifier, canonical url, type/id.
        if (p.identifier !== undefined) {
          const system = p.identifier.system;
          return join('AND', [
            frag(`${i}.identifier_value = ?`, p.identifier.value),
            ...(system === null ? [frag(`${i}.identifier_system IS NULL`)] : system !== undefined ? [frag(`${i}.identifier_system = ?`, system)] : []),
          ]);
        }
        if (p.url !== undefined) {
          return join('AND', [frag(`${i}.url = ?`, p.url), ...(p.urlVersion !== undefined ? [frag(`${i}.url_version = ?`, p.urlVersion)] : [])]);
        }
        if (p.id !== undefined) {
          return join('AND', [
            frag(`${i}.target_id = ?`, p.id),
            ...(p.targetTypes !== undefined && p.targetTypes.length > 0 ? [inList(`${i}.target_type`, p.targetTypes)] : []),
            ...(p.version !== undefined ? [frag(`${i}.target_version = ?`, p.version)] : []),
          ]);
        }
        return FALSE;
      case 'uri':
        if (p.mode === 'exact') return frag(`${i}.value = ?`, p.value);
        if (p.mode === 'below') return startsWith(`${i}.value`, p.value);
        // above: the stored uri is a prefix of the query value.
        return frag(`${i}.value <= ? AND ${i}.value = substr(?, 1, length(${i}.value))`, p.value, p.value);
    }
  }

  /** ORDER BY expressions (with their bound values) for the sort keys; `alias` is the result row. */
  sortColumns(keys: readonly SortKey[], alias: string): SortColumn[] {
    return keys.map((k) => (k.chain && k.chain.length > 0 ? this.chainedSortColumn(k, alias) : this.sortColumn(k, alias)));
  }

  private sortColumn(k: SortKey, alias: string): SortColumn {
    if (k.kind === 'special') return { value: frag(specialColumn(k, alias)), nullable: false };
    const agg = k.descending ? 'MAX' : 'MIN';
    const s = this.alias('s');
    const { table, value } = sortSource(k, s);
    return { value: frag(`(SELECT ${agg}(${value}) FROM ${table} ${s} WHERE ${s}.rid = ${alias}.rid AND ${s}.param = ?)`, k.param), nullable: true };
  }

  /** MIN/MAX of the key's values over every resource reached through the reference hops. */
  private chainedSortColumn(k: SortKey, alias: string): SortColumn {
    const agg = k.descending ? 'MAX' : 'MIN';
    const joins: Frag[] = [];
    let where: Frag = TRUE;
    let from = alias;
    for (const hop of k.chain ?? []) {
      const x = this.alias('x');
      const t = this.alias('t');
      const targets = inList(`${x}.target_type`, hop.targetTypes);
      const target = `JOIN resource ${t} ON ${t}.type = ${x}.target_type AND ${t}.id = ${x}.target_id AND ${t}.deleted = 0`;
      if (joins.length === 0) {
        // The first hop is the FROM table, correlated with the sorted row in the WHERE clause.
        joins.push(frag(`FROM ix_reference ${x} ${target}`));
        where = { sql: `${x}.rid = ${from}.rid AND ${x}.param = ? AND ${targets.sql}`, params: [hop.param, ...targets.params] };
      } else {
        joins.push({ sql: `JOIN ix_reference ${x} ON ${x}.rid = ${from}.rid AND ${x}.param = ? AND ${targets.sql} ${target}`, params: [hop.param, ...targets.params] });
      }
      from = t;
    }
    let value: string;
    if (k.kind === 'special') value = specialColumn(k, from);
    else {
      const s = this.alias('s');
      const src = sortSource(k, s);
      joins.push(frag(`JOIN ${src.table} ${s} ON ${s}.rid = ${from}.rid AND ${s}.param = ?`, k.param));
      value = src.value;
    }
    return {
      value: { sql: `(SELECT ${agg}(${value}) ${joins.map((j) => j.sql).join(' ')} WHERE ${where.sql})`, params: [...joins.flatMap((j) => j.params), ...where.params] },
      nullable: true,
    };
  }

  private alias(prefix: string): string {
    return `${prefix}${++this.counter}`;
  }
}

function specialColumn(k: SortKey, alias: string): string {
  if (k.param === '_id') return `${alias}.id`;
  if (k.param === '_lastUpdated') return `${alias}.last_updated`;
  throw new FhirError('unsupported', `sorting by ${k.param} is not supported`);
}

function sortSource(k: SortKey, s: string): { table: string; value: string } {
  const col = k.kind === 'special' ? undefined : SORT_COLUMN[k.kind];
  if (col === undefined || k.kind === 'special' || k.kind === 'text') throw new FhirError('unsupported', `sorting by the ${k.kind} parameter ${k.param} is not supported`);
  return { table: INDEX_TABLE[k.kind], value: col(s, k.descending) };
}

/** The value a sort uses per kind: ascending by the lowest value, descending by the highest. */
const SORT_COLUMN: Partial<Record<IndexKind, (s: string, descending: boolean) => string>> = {
  string: (s) => `${s}.norm`,
  token: (s) => `COALESCE(${s}.code, ${s}.text)`,
  date: (s, d) => (d ? `${s}.high` : `${s}.low`),
  number: (s) => `${s}.value`,
  quantity: (s) => `${s}.value`,
  reference: (s) => `COALESCE(${s}.target_type || '/' || ${s}.target_id, ${s}.url)`,
  uri: (s) => `${s}.value`,
};

function isTyped(p: SearchExpr): p is TypedPredicate {
  return p.op in TABLE_OF_OP;
}

/**
 * A static estimate of how few rows a predicate's index lookup yields (lower = more selective;
 * Infinity = it cannot drive): a reference or an identifier names one resource or a few, a token code
 * or an exact string or uri a small share, a string prefix or full-text words more, a range on a date
 * or number often half the table, and a scan of every entry of a parameter (`:contains`, `:missing`,
 * a system without a code) the most. Only decides the plan, never the result.
 */
export function driverRank(e: SearchExpr): number {
  switch (e.op) {
    case 'and':
      return Math.min(...e.args.map(driverRank));
    case 'or':
      // `_id` drives only through the type index, which an OR of index lookups does not use.
      return e.args.length === 0 ? Infinity : Math.max(...e.args.map((a) => (a.op === 'id' ? Infinity : driverRank(a))));
    case 'not':
    case 'lastUpdated':
    case 'list':
      return Infinity;
    case 'id':
      return 0;
    case 'reference':
      return 1;
    case 'token':
      if (e.ofType !== undefined) return 1;
      if (e.text !== undefined) return 5;
      if (e.anyOf !== undefined) return 3;
      return e.code !== undefined ? 2 : 7;
    case 'composite':
      return 2;
    case 'string':
      return e.mode === 'exact' ? 2 : e.mode === 'start' ? 3 : 8;
    case 'uri':
      return e.mode === 'exact' ? 2 : e.mode === 'below' ? 3 : 8;
    case 'text':
      return 3;
    case 'has':
    case 'chain':
      return 4;
    case 'date':
    case 'number':
    case 'quantity':
      return e.prefix === 'ne' ? 8 : 6;
    case 'missing':
      return e.missing || e.kind === 'text' ? Infinity : 8;
  }
}

/** The predicate that produces the candidate rows of `e` in drive mode (itself unless a conjunction). */
function driverOf(e: SearchExpr): SearchExpr {
  if (e.op !== 'and') return e;
  const n = driverIndex(e.args);
  return n < 0 ? e : driverOf(e.args[n]!);
}

/**
 * The type column of the searched rows (`col` = `alias.type`): when an index lookup drives `where`,
 * a unary `+` keeps the planner off the (unselective) type index, so the type becomes a plain filter
 * on the rows the lookup yields; when `_id` or nothing drives, the `(type, id)` / type index serves.
 */
export function typeColumn(col: string, where: SearchExpr | undefined): string {
  if (where === undefined || driverRank(where) === Infinity) return col;
  return driverOf(where).op === 'id' ? col : `+${col}`;
}

/**
 * True when a probe of `e` refers to its row only through `rid` (so it can be tested on an index row
 * of the same resource): not `_has` (the row's type and id), `_id` or `_lastUpdated` (its columns).
 */
function needsRidOnly(e: SearchExpr): boolean {
  switch (e.op) {
    case 'and':
    case 'or':
      return e.args.every(needsRidOnly);
    case 'not':
      return needsRidOnly(e.arg);
    case 'has':
    case 'id':
    case 'lastUpdated':
    case 'list':
      return false;
    default:
      return true;
  }
}

/** The conjunct that drives a conjunction: the lowest rank, the first of equals; -1 when none can. */
function driverIndex(args: readonly SearchExpr[]): number {
  let best = -1;
  let bestRank = Infinity;
  args.forEach((a, n) => {
    const r = driverRank(a);
    if (r < bestRank) {
      best = n;
      bestRank = r;
    }
  });
  return best;
}

/** The range condition as SQL over the stored bounds (`low` and `high` columns). */
function rangeSql(cond: RangeCondition, lowCol: string, highCol: string): Frag {
  const col = (b: Bound): string => (b.field === 'low' ? lowCol : highCol);
  const all = join(
    'AND',
    cond.all.map((b) => frag(`${col(b)} ${b.cmp} ?`, b.value)),
  );
  return cond.negate ? { sql: `NOT (${all.sql})`, params: all.params } : all;
}

export type { SqlValue };
