import type { Dataset } from '../policy/collaboration.ts';
import { RESERVED_PREFIX, type CheckerState } from './checker-state.ts';
import type { ExpressionChecker } from './expression-checker.ts';
import type { ExprContext } from './expression-facts.ts';
import { resolveColumn, strictestClass, type ColumnInfo, type Scope, type ScopeTable, type UnitColumn, type ViewInfo } from './scope.ts';
import { child, children, fold, isNode, text, type SqlNode } from './sql-tree.ts';

/**
 * FROM clauses, joins, CTEs and subquery views: which relations a query may read, how they may be
 * joined, and how each privacy unit stays reachable so the released query can count people.
 */
export class RelationChecker {
  expressions!: ExpressionChecker;

  constructor(private readonly state: CheckerState) {}

  rejectClauses(node: SqlNode, keys: readonly string[]): void {
    for (const key of keys) if (node[key] !== null && node[key] !== undefined) this.state.refuse('CONSTRUCT_NOT_ALLOWED', `${key.toUpperCase()} is not allowed.`, child(node, key) ?? node);
  }

  /** CTEs are row-level views; each may read datasets and earlier CTEs. */
  checkCtes(node: SqlNode, outer: ReadonlyMap<string, ViewInfo>): Map<string, ViewInfo> {
    const views = new Map(outer);
    const entries = Array.isArray((node.cte_map as { map?: unknown } | undefined)?.map) ? ((node.cte_map as { map: unknown[] }).map) : [];
    for (const entry of entries) {
      const key = (entry as { key?: unknown }).key;
      const query = (entry as { value?: { query?: { node?: unknown } } }).value?.query?.node;
      if (typeof key !== 'string' || !isNode(query)) continue;
      const name = fold(key);
      if (this.state.collaboration.datasets.has(name)) {
        this.state.refuse('RESERVED_NAME', `A CTE may not be named like the dataset "${name}".`, node);
        continue;
      }
      if (name.startsWith(RESERVED_PREFIX)) this.state.refuse('RESERVED_NAME', `Names starting with ${RESERVED_PREFIX} are reserved for the room.`, node);
      const view = this.checkView(query, views, name);
      if (view) views.set(name, view);
    }
    return views;
  }

  /** A row-level view: filters and projects datasets; no aggregation, windows, ordering or limits. */
  checkView(node: SqlNode, outerViews: ReadonlyMap<string, ViewInfo>, name: string): ViewInfo | undefined {
    if (node.type !== 'SELECT_NODE') {
      this.state.refuse(node.type === 'SET_OPERATION_NODE' ? 'SET_OPERATION_NOT_ALLOWED' : 'CONSTRUCT_NOT_ALLOWED', `View "${name}" must be a single SELECT.`, node);
      return undefined;
    }
    const views = this.checkCtes(node, outerViews);
    let distinct = false;
    for (const modifier of children(node, 'modifiers')) {
      if (modifier.type === 'DISTINCT_MODIFIER' && children(modifier, 'distinct_on_targets').length === 0) distinct = true;
      else this.state.refuse('CONSTRUCT_NOT_ALLOWED', `View "${name}" may not use ${modifier.type === 'LIMIT_MODIFIER' ? 'LIMIT' : modifier.type === 'ORDER_MODIFIER' ? 'ORDER BY' : 'DISTINCT ON'}: it would pick out particular rows.`, node);
    }
    this.rejectClauses(node, ['qualify', 'sample', 'having']);
    if (children(node, 'group_expressions').length > 0 || node.aggregate_handling === 'FORCE_AGGREGATES') {
      this.state.refuse('AGGREGATE_MISPLACED', `View "${name}" may not aggregate: only the released query aggregates, so thresholds apply to what leaves.`, node);
    }
    const scope = this.checkFrom(child(node, 'from_table'), views, false, node);
    if (!scope) return undefined;
    const rowContext: ExprContext = { scope, views, aggregatesAllowed: false, insideAggregate: false, projection: false, place: `WHERE of ${name}` };
    const where = child(node, 'where_clause');
    if (where) this.expressions.check(where, rowContext);
    const columns = new Map<string, ColumnInfo>();
    children(node, 'select_list').forEach((item, i) => {
      const facts = this.expressions.check(item, { ...rowContext, projection: true, place: `SELECT of ${name}` });
      const outName = fold(text(item, 'alias') || (item.class === 'COLUMN_REF' ? String((item.column_names as string[]).at(-1)) : `col${i}`));
      if (outName.startsWith(RESERVED_PREFIX)) this.state.refuse('RESERVED_NAME', `Names starting with ${RESERVED_PREFIX} are reserved for the room.`, item);
      // DuckDB resolves a repeated name to its first definition; lineage must never guess which.
      if (columns.has(outName)) this.state.refuse('CONSTRUCT_NOT_ALLOWED', `View "${name}" names two columns "${outName}"; give every column its own name.`, item);
      if (facts.bare) columns.set(outName, { ...facts.bare, name: outName });
      else {
        const cls = strictestClass(facts.classes);
        if (cls === 'identifier') this.state.refuse('IDENTIFIER_MISUSE', `View "${name}" computes an expression from an identifier; identifiers may only pass through unchanged, to be joined on.`, item, { rule: 'column class identifier' });
        columns.set(outName, { name: outName, class: cls, datasets: facts.datasets });
      }
    });
    const innerUnits = scope.tables.flatMap((t) => t.units.map((unit) => ({ unit, tableAlias: t.alias })));
    return { name, node, columns, datasets: new Set(scope.tables.flatMap((t) => [...t.datasets])), distinct, innerUnits };
  }

  /** Makes every privacy unit a view reads visible in its output, injecting a column if needed. */
  private exposeUnits(view: ViewInfo, at: SqlNode): UnitColumn[] {
    if (view.exposedUnits) return view.exposedUnits;
    const exposed: UnitColumn[] = [];
    for (const { unit, tableAlias } of view.innerUnits) {
      const passed = [...view.columns.values()].find((c) => c.origin?.dataset === unit.dataset && c.class === 'identifier' &&
        c.origin.column === this.state.collaboration.datasets.get(unit.dataset)?.rules.privacyUnit);
      if (passed) {
        exposed.push({ dataset: unit.dataset, column: passed.name });
      } else if (view.distinct) {
        this.state.refuse('VIEW_DROPS_PRIVACY_UNIT', `View "${view.name}" is DISTINCT without its privacy unit ${unit.dataset}.${unit.column}, so groups could not be counted in people; select the unit too.`, at, { dataset: unit.dataset, column: unit.column, rule: `datasets.${unit.dataset}.rules.privacyUnit` });
      } else {
        const alias = `${RESERVED_PREFIX}unit_${this.state.nextId()}`;
        this.state.edits.push({ kind: 'project-unit', view: view.node, ref: [tableAlias, unit.column], alias });
        exposed.push({ dataset: unit.dataset, column: alias });
      }
    }
    view.exposedUnits = exposed;
    return exposed;
  }

  /** Builds the scope of a FROM clause: datasets, views and allowed joins only. */
  checkFrom(node: SqlNode | undefined, views: ReadonlyMap<string, ViewInfo>, needUnits: boolean, at: SqlNode): Scope | undefined {
    if (!node || node.type === 'EMPTY') {
      this.state.refuse('TABLE_NOT_ALLOWED', 'A query must read at least one collaboration dataset.', at);
      return undefined;
    }
    const tables = this.tableRef(node, views, needUnits);
    return tables ? { tables } : undefined;
  }

  private tableRef(node: SqlNode, views: ReadonlyMap<string, ViewInfo>, needUnits: boolean): ScopeTable[] | undefined {
    const alias = fold(text(node, 'alias'));
    if (Array.isArray(node.column_name_alias) && node.column_name_alias.length > 0) {
      this.state.refuse('CONSTRUCT_NOT_ALLOWED', 'Renaming a table\'s columns in FROM (t(a, b)) is not allowed; alias columns in SELECT.', node);
    }
    if (node.sample) this.state.refuse('CONSTRUCT_NOT_ALLOWED', 'TABLESAMPLE is not allowed.', node);
    switch (node.type) {
      case 'BASE_TABLE': {
        const name = fold(text(node, 'table_name'));
        if (text(node, 'schema_name') || text(node, 'catalog_name')) {
          this.state.refuse('QUALIFIED_NAME_NOT_ALLOWED', `Name datasets without a schema or catalog: "${name}".`, node);
          return undefined;
        }
        if (node.at_clause) this.state.refuse('CONSTRUCT_NOT_ALLOWED', 'AT (time travel) is not allowed.', node);
        const view = views.get(name);
        if (view) {
          const units = needUnits ? this.exposeUnits(view, node) : [];
          return [{ alias: alias || name, columns: view.columns, units, datasets: view.datasets }];
        }
        const dataset = this.state.collaboration.datasets.get(name);
        if (!dataset) {
          this.state.refuse('TABLE_NOT_ALLOWED', `"${text(node, 'table_name')}" is not a dataset of collaboration "${this.state.collaboration.id}" or a CTE of this query.`, node, { rule: 'datasets' });
          return undefined;
        }
        this.state.datasetsRead.add(dataset.name);
        this.state.edits.push({ kind: 'qualify-table', table: node, schema: this.state.collaboration.id, alias: alias || name });
        return [{ alias: alias || name, columns: datasetColumns(dataset), units: [{ dataset: dataset.name, column: dataset.rules.privacyUnit }], datasets: new Set([dataset.name]) }];
      }
      case 'SUBQUERY': {
        const inner = (node.subquery as { node?: unknown } | undefined)?.node;
        if (!isNode(inner)) return undefined;
        const view = this.checkView(inner, views, alias || 'subquery');
        if (!view) return undefined;
        let named = alias;
        if (!named) {
          named = `${RESERVED_PREFIX}sub_${this.state.nextId()}`;
          this.state.edits.push({ kind: 'alias-subquery', table: node, alias: named });
        }
        const units = needUnits ? this.exposeUnits(view, node) : [];
        return [{ alias: named, columns: view.columns, units, datasets: view.datasets }];
      }
      case 'JOIN':
        return this.join(node, views, needUnits);
      case 'TABLE_FUNCTION':
        this.state.refuse('TABLE_FUNCTION_NOT_ALLOWED', 'Table functions (read_csv, read_parquet, range, duckdb_settings, …) are not allowed: a query reads collaboration datasets only.', node);
        return undefined;
      default:
        this.state.refuse('CONSTRUCT_NOT_ALLOWED', `${node.type ?? 'This'} is not allowed in FROM.`, node);
        return undefined;
    }
  }

  /** Joins only on equality of identifier columns that both owners allow to be joined. */
  private join(node: SqlNode, views: ReadonlyMap<string, ViewInfo>, needUnits: boolean): ScopeTable[] | undefined {
    const left = child(node, 'left') && this.tableRef(child(node, 'left') as SqlNode, views, needUnits);
    const right = child(node, 'right') && this.tableRef(child(node, 'right') as SqlNode, views, needUnits);
    if (!left || !right) return undefined;
    const tables = [...left, ...right];
    const refType = text(node, 'ref_type');
    if (refType !== 'REGULAR') {
      this.state.refuse('JOIN_NOT_ALLOWED', `${refType} joins are not allowed: join on an identifier pair the owners allow.`, node, { rule: 'rules.joins' });
      return tables;
    }
    if (!['INNER', 'LEFT', 'RIGHT', 'OUTER'].includes(text(node, 'join_type'))) {
      this.state.refuse('JOIN_NOT_ALLOWED', `${text(node, 'join_type')} joins are not allowed.`, node, { rule: 'rules.joins' });
    }
    let linked = false;
    const using = Array.isArray(node.using_columns) ? (node.using_columns as string[]) : [];
    for (const name of using) {
      const a = resolveColumn({ tables: left }, [name]);
      const b = resolveColumn({ tables: right }, [name]);
      if (a.ok && b.ok && this.allowedPair(a.column, b.column, node)) linked = true;
      else if (!a.ok || !b.ok) this.state.refuse('COLUMN_UNKNOWN', `USING column "${name}" is not on both sides.`, node);
    }
    const condition = child(node, 'condition');
    const scope: Scope = { tables };
    for (const term of condition ? conjuncts(condition) : []) {
      const l = child(term, 'left');
      const r = child(term, 'right');
      if (term.class === 'COMPARISON' && term.type === 'COMPARE_EQUAL' && l?.class === 'COLUMN_REF' && r?.class === 'COLUMN_REF') {
        const a = resolveColumn(scope, l.column_names as string[]);
        const b = resolveColumn(scope, r.column_names as string[]);
        if (a.ok && b.ok && (a.column.class === 'identifier' || b.column.class === 'identifier')) {
          this.state.touch(a.column);
          this.state.touch(b.column);
          if (this.allowedPair(a.column, b.column, term)) linked = true;
          continue;
        }
      }
      this.expressions.check(term, { scope, views, aggregatesAllowed: false, insideAggregate: false, projection: false, place: 'JOIN ON' });
    }
    if (!linked) this.state.refuse('JOIN_NOT_ALLOWED', 'Every join needs an equality between identifier columns that both owners allow (rules.joins); cross products and joins on other columns are refused.', node, { rule: 'rules.joins' });
    return tables;
  }

  /** Both owners must list the pair: A.x may join B.y only if A allows B.y and B allows A.x. */
  allowedPair(a: ColumnInfo, b: ColumnInfo, at: SqlNode): boolean {
    if (a.class !== 'identifier' || b.class !== 'identifier' || !a.origin || !b.origin) {
      this.state.refuse('JOIN_NOT_ALLOWED', 'Joins compare identifier columns passed through unchanged on both sides.', at, { rule: 'rules.joins' });
      return false;
    }
    const allows = (from: typeof a.origin, to: typeof a.origin) =>
      (this.state.collaboration.datasets.get(from.dataset)?.rules.joins ?? []).some((j) => j.column === from.column && j.dataset === to.dataset && j.partnerColumn === to.column);
    if (allows(a.origin, b.origin) && allows(b.origin, a.origin)) {
      this.state.joinPairs.push({ a: a.origin, b: b.origin });
      return true;
    }
    this.state.refuse('JOIN_NOT_ALLOWED', `Joining ${a.origin.dataset}.${a.origin.column} with ${b.origin.dataset}.${b.origin.column} is not allowed by both owners' rules.joins.`, at, {
      rule: `datasets.${a.origin.dataset}.rules.joins`, dataset: a.origin.dataset, column: a.origin.column,
    });
    return false;
  }
}

/** Columns of a dataset as the checker sees them: each bare, with its class and origin. */
function datasetColumns(dataset: Dataset): Map<string, ColumnInfo> {
  return new Map(dataset.columns.map((c) => [c.name, { name: c.name, class: c.class, datasets: new Set([dataset.name]), origin: { dataset: dataset.name, column: c.name } }]));
}

/** Splits a condition on AND. */
function conjuncts(node: SqlNode): SqlNode[] {
  if (node.class === 'CONJUNCTION' && node.type === 'CONJUNCTION_AND') return children(node, 'children').flatMap(conjuncts);
  return [node];
}
