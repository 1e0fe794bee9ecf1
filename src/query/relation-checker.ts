import type { Dataset } from '../policy/collaboration.ts';
import { RESERVED_PREFIX, type CheckerState } from './checker-state.ts';
import type { ExpressionChecker } from './expression-checker.ts';
import type { ExprContext } from './expression-facts.ts';
import {
  resolveColumn,
  strictestClass,
  type ColumnInfo,
  type ColumnSource,
  type InnerUnit,
  type Scope,
  type ScopeTable,
  type SemiJoinUnit,
  type UnitColumn,
  type ViewInfo,
} from './scope.ts';
import { caseWhen, child, children, columnRef, fold, isNode, text, type SqlNode } from './sql-tree.ts';
import { commonType, fromTypeName, typeName } from './sql-types.ts';

/**
 * FROM clauses, joins, CTEs and subquery views: which relations a query may read, how they may be
 * joined, and how each privacy unit stays reachable so the released query can count people.
 */
export class RelationChecker {
  expressions!: ExpressionChecker;

  constructor(private readonly state: CheckerState) {}

  rejectClauses(node: SqlNode, keys: readonly string[]): void {
    for (const key of keys)
      if (node[key] !== null && node[key] !== undefined)
        this.state.refuse('CONSTRUCT_NOT_ALLOWED', `${key.toUpperCase()} is not allowed.`, child(node, key) ?? node);
  }

  /** CTEs are row-level views; each may read datasets and earlier CTEs. */
  checkCtes(node: SqlNode, outer: ReadonlyMap<string, ViewInfo>): Map<string, ViewInfo> {
    const views = new Map(outer);
    const entries = Array.isArray((node.cte_map as { map?: unknown } | undefined)?.map)
      ? (node.cte_map as { map: unknown[] }).map
      : [];
    for (const entry of entries) {
      const key = (entry as { key?: unknown }).key;
      const query = (entry as { value?: { query?: { node?: unknown } } }).value?.query?.node;
      if (typeof key !== 'string' || !isNode(query)) continue;
      const name = fold(key);
      if (this.state.collaboration.datasets.has(name)) {
        this.state.refuse('RESERVED_NAME', `A CTE may not be named like the dataset "${name}".`, node);
        continue;
      }
      if (name.startsWith(RESERVED_PREFIX))
        this.state.refuse('RESERVED_NAME', `Names starting with ${RESERVED_PREFIX} are reserved for the room.`, node);
      const view = this.checkView(query, views, name);
      if (view) views.set(name, view);
    }
    return views;
  }

  /** A row-level view: filters and projects datasets; no aggregation, windows, ordering or limits. */
  checkView(node: SqlNode, outerViews: ReadonlyMap<string, ViewInfo>, name: string): ViewInfo | undefined {
    if (node.type !== 'SELECT_NODE') {
      this.state.refuse(
        node.type === 'SET_OPERATION_NODE' ? 'SET_OPERATION_NOT_ALLOWED' : 'CONSTRUCT_NOT_ALLOWED',
        `View "${name}" must be a single SELECT.`,
        node,
      );
      return undefined;
    }
    const views = this.checkCtes(node, outerViews);
    let distinct = false;
    for (const modifier of children(node, 'modifiers')) {
      if (modifier.type === 'DISTINCT_MODIFIER' && children(modifier, 'distinct_on_targets').length === 0)
        distinct = true;
      else {
        const clause =
          modifier.type === 'LIMIT_MODIFIER'
            ? 'LIMIT'
            : modifier.type === 'ORDER_MODIFIER'
              ? 'ORDER BY'
              : 'DISTINCT ON';
        this.state.refuse(
          'CONSTRUCT_NOT_ALLOWED',
          `View "${name}" may not use ${clause}: it would pick out particular rows.`,
          node,
        );
      }
    }
    this.rejectClauses(node, ['qualify', 'sample', 'having']);
    if (children(node, 'group_expressions').length > 0 || node.aggregate_handling === 'FORCE_AGGREGATES') {
      this.state.refuse(
        'AGGREGATE_MISPLACED',
        `View "${name}" may not aggregate: only the released query aggregates, so thresholds apply to what leaves.`,
        node,
      );
    }
    // Every view carries the people of everything it reads, however deep: a view over a view
    // exposes the inner view's units too, so the released query counts every dataset.
    const scope = this.checkFrom(child(node, 'from_table'), views, node);
    if (!scope) return undefined;
    const semiJoins: SemiJoinUnit[] = [];
    const rowContext: ExprContext = {
      scope,
      views,
      aggregatesAllowed: false,
      insideAggregate: false,
      projection: false,
      place: `WHERE of ${name}`,
      semiJoins,
    };
    const where = child(node, 'where_clause');
    if (where) this.expressions.checkCondition(where, rowContext);
    const columns = new Map<string, ColumnInfo>();
    const sources = new Map<string, ColumnSource>();
    children(node, 'select_list').forEach((item, i) => {
      const facts = this.expressions.check(item, { ...rowContext, projection: true, place: `SELECT of ${name}` });
      const outName = fold(
        text(item, 'alias') ||
          (item.class === 'COLUMN_REF' ? String((item.column_names as string[]).at(-1)) : `col${i}`),
      );
      if (outName.startsWith(RESERVED_PREFIX))
        this.state.refuse('RESERVED_NAME', `Names starting with ${RESERVED_PREFIX} are reserved for the room.`, item);
      // DuckDB resolves a repeated name to its first definition; lineage must never guess which.
      if (columns.has(outName))
        this.state.refuse(
          'CONSTRUCT_NOT_ALLOWED',
          `View "${name}" names two columns "${outName}"; give every column its own name.`,
          item,
        );
      if (facts.bare) {
        columns.set(outName, { ...facts.bare, name: outName });
        const resolved = item.class === 'COLUMN_REF' ? resolveColumn(scope, item.column_names as string[]) : undefined;
        if (resolved?.ok) sources.set(outName, { alias: resolved.table.alias, column: resolved.column.name });
      } else {
        const cls = strictestClass(facts.classes);
        if (cls === 'identifier')
          this.state.refuse(
            'IDENTIFIER_MISUSE',
            `View "${name}" computes an expression from an identifier; identifiers may only pass through unchanged, ` +
              `to be joined on.`,
            item,
            { rule: 'column class identifier' },
          );
        columns.set(outName, { name: outName, class: cls, datasets: facts.datasets, type: facts.type });
      }
    });
    const innerUnits: InnerUnit[] = [
      ...scope.tables.flatMap((t) => t.units.map((unit) => ({ kind: 'column' as const, unit, tableAlias: t.alias }))),
      ...semiJoins.map((semiJoin) => ({ kind: 'semi-join' as const, semiJoin })),
    ];
    return {
      name,
      node,
      columns,
      sources,
      datasets: new Set(scope.tables.flatMap((t) => [...t.datasets])),
      distinct,
      innerUnits,
    };
  }

  /** Makes every privacy unit a view reads visible in its output, injecting a column where needed. */
  private exposeUnits(view: ViewInfo, at: SqlNode): UnitColumn[] {
    if (view.exposedUnits) return view.exposedUnits;
    const outputOf = (source: ColumnSource | undefined) =>
      source && [...view.sources].find(([, s]) => s.alias === source.alias && s.column === source.column)?.[0];
    const exposed: UnitColumn[] = [];
    for (const inner of view.innerUnits) {
      const dataset = inner.kind === 'column' ? inner.unit.dataset : inner.semiJoin.dataset;
      const unitColumn = this.state.collaboration.datasets.get(dataset)?.rules.privacyUnit ?? '';
      const refusal = { dataset, column: unitColumn, rule: `datasets.${dataset}.rules.privacyUnit` };
      if (inner.kind === 'column') {
        const passed = outputOf({ alias: inner.tableAlias, column: inner.unit.column });
        if (passed) {
          exposed.push({ ...inner.unit, column: passed });
          continue;
        }
        if (view.distinct) {
          this.state.refuse(
            'VIEW_DROPS_PRIVACY_UNIT',
            `View "${view.name}" is DISTINCT without its privacy unit ${dataset}.${unitColumn}, so groups could not ` +
              `be counted in people; select the unit too.`,
            at,
            refusal,
          );
          continue;
        }
        exposed.push({ ...inner.unit, column: this.project(view, columnRef([inner.tableAlias, inner.unit.column])) });
      } else {
        // The matched probe values are a function of the probe column: projecting them keeps a
        // DISTINCT view's rows as they are only if the view selects the probe itself.
        if (view.distinct && !outputOf(inner.semiJoin.probeSource)) {
          this.state.refuse(
            'VIEW_DROPS_PRIVACY_UNIT',
            `View "${view.name}" is DISTINCT and filters on ${dataset} with IN (SELECT …) ` +
              `without selecting the compared column, so ${dataset}'s people could not be counted; ` +
              `select that column too.`,
            at,
            refusal,
          );
          continue;
        }
        exposed.push({
          dataset,
          column: this.project(view, caseWhen(inner.semiJoin.membership, inner.semiJoin.probe)),
          covers: inner.semiJoin.covers,
        });
      }
    }
    view.exposedUnits = exposed;
    return exposed;
  }

  /** Asks the rewriter to add `expression` to a view's output under a fresh reserved name. */
  private project(view: ViewInfo, expression: SqlNode): string {
    const alias = `${RESERVED_PREFIX}unit_${this.state.nextId()}`;
    this.state.edits.push({ kind: 'project-unit', view: view.node, expression, alias });
    return alias;
  }

  /** Builds the scope of a FROM clause: datasets, views and allowed joins only. */
  checkFrom(node: SqlNode | undefined, views: ReadonlyMap<string, ViewInfo>, at: SqlNode): Scope | undefined {
    if (!node || node.type === 'EMPTY') {
      this.state.refuse('TABLE_NOT_ALLOWED', 'A query must read at least one collaboration dataset.', at);
      return undefined;
    }
    return this.tableRef(node, views);
  }

  private tableRef(node: SqlNode, views: ReadonlyMap<string, ViewInfo>): Scope | undefined {
    const alias = fold(text(node, 'alias'));
    if (Array.isArray(node.column_name_alias) && node.column_name_alias.length > 0) {
      this.state.refuse(
        'CONSTRUCT_NOT_ALLOWED',
        "Renaming a table's columns in FROM (t(a, b)) is not allowed; alias columns in SELECT.",
        node,
      );
    }
    if (node.sample) this.state.refuse('CONSTRUCT_NOT_ALLOWED', 'TABLESAMPLE is not allowed.', node);
    switch (node.type) {
      case 'BASE_TABLE': {
        const name = fold(text(node, 'table_name'));
        if (text(node, 'schema_name') || text(node, 'catalog_name')) {
          this.state.refuse(
            'QUALIFIED_NAME_NOT_ALLOWED',
            `Name datasets without a schema or catalog: "${name}".`,
            node,
          );
          return undefined;
        }
        if (node.at_clause) this.state.refuse('CONSTRUCT_NOT_ALLOWED', 'AT (time travel) is not allowed.', node);
        const view = views.get(name);
        if (view) {
          const units = this.exposeUnits(view, node);
          return single({ alias: alias || name, columns: view.columns, units, datasets: view.datasets });
        }
        const dataset = this.state.collaboration.datasets.get(name);
        if (!dataset) {
          this.state.refuse(
            'TABLE_NOT_ALLOWED',
            `"${text(node, 'table_name')}" is not a dataset of collaboration "${this.state.collaboration.id}" or ` +
              `a CTE of this query.`,
            node,
            { rule: 'datasets' },
          );
          return undefined;
        }
        this.state.datasetsRead.add(dataset.name);
        this.state.edits.push({
          kind: 'qualify-table',
          table: node,
          schema: this.state.collaboration.id,
          alias: alias || name,
        });
        return single({
          alias: alias || name,
          columns: datasetColumns(dataset),
          units: [{ dataset: dataset.name, column: dataset.rules.privacyUnit }],
          datasets: new Set([dataset.name]),
        });
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
        const units = this.exposeUnits(view, node);
        return single({ alias: named, columns: view.columns, units, datasets: view.datasets });
      }
      case 'JOIN':
        return this.join(node, views);
      case 'SHOW_REF':
        this.state.refuse(
          'NOT_A_SELECT',
          'DESCRIBE, SUMMARIZE and SHOW describe a table or its values; the room runs only a SELECT over datasets.',
          node,
        );
        return undefined;
      case 'TABLE_FUNCTION':
        this.state.refuse(
          'TABLE_FUNCTION_NOT_ALLOWED',
          'Table functions (read_csv, read_parquet, range, duckdb_settings, …) are not allowed: ' +
            'a query reads collaboration datasets only.',
          node,
        );
        return undefined;
      default:
        this.state.refuse('CONSTRUCT_NOT_ALLOWED', `${node.type ?? 'This'} is not allowed in FROM.`, node);
        return undefined;
    }
  }

  /** Joins only on equality of identifier columns that both owners allow to be joined. */
  private join(node: SqlNode, views: ReadonlyMap<string, ViewInfo>): Scope | undefined {
    const left = child(node, 'left') && this.tableRef(child(node, 'left') as SqlNode, views);
    const right = child(node, 'right') && this.tableRef(child(node, 'right') as SqlNode, views);
    if (!left || !right) return undefined;
    const tables = [...left.tables, ...right.tables];
    const using = new Map([...(left.using ?? []), ...(right.using ?? [])]);
    const refType = text(node, 'ref_type');
    if (refType !== 'REGULAR') {
      this.state.refuse(
        'JOIN_NOT_ALLOWED',
        `${refType} joins are not allowed: join on an identifier pair the owners allow.`,
        node,
        { rule: 'rules.joins' },
      );
      return { tables, using };
    }
    // Outer joins are fine: each side's people are counted in every group, and a side that
    // contributes nothing to a group (only NULLs) counts as 0 people, not as a small group.
    const joinType = text(node, 'join_type');
    if (!['INNER', 'LEFT', 'RIGHT', 'OUTER', 'FULL'].includes(joinType)) {
      this.state.refuse('JOIN_NOT_ALLOWED', `${joinType} joins are not allowed.`, node, { rule: 'rules.joins' });
    }
    this.state.joinTypes.add(joinType);
    let linked = false;
    let unresolved = false;
    const usingColumns = Array.isArray(node.using_columns) ? (node.using_columns as string[]) : [];
    // DuckDB merges a USING column into one: the left side's for INNER and LEFT joins, the right
    // side's for RIGHT, coalesce(left, right) for FULL, which is neither side's unit. Only the
    // first two keep lineage the room can follow.
    if (usingColumns.length > 0 && (joinType === 'RIGHT' || joinType === 'FULL' || joinType === 'OUTER')) {
      this.state.refuse(
        'JOIN_NOT_ALLOWED',
        `USING with a ${joinType} join merges the two columns into one that belongs to neither side; write ON ` +
          `with both columns qualified (a.x = b.x).`,
        node,
        { rule: 'rules.joins' },
      );
    }
    for (const name of usingColumns) {
      const a = resolveColumn(left, [name]);
      const b = resolveColumn(right, [name]);
      if (a.ok && b.ok) {
        using.set(fold(name), a.table.alias);
        if (this.allowedPair(a.column, b.column, node)) linked = true;
      } else {
        this.state.refuse('COLUMN_UNKNOWN', `USING column "${name}" is not on both sides.`, node);
        unresolved = true;
      }
    }
    const condition = child(node, 'condition');
    const scope: Scope = { tables, using };
    for (const term of condition ? conjuncts(condition) : []) {
      const l = child(term, 'left');
      const r = child(term, 'right');
      if (
        term.class === 'COMPARISON' &&
        term.type === 'COMPARE_EQUAL' &&
        l?.class === 'COLUMN_REF' &&
        r?.class === 'COLUMN_REF'
      ) {
        const a = resolveColumn(scope, l.column_names as string[]);
        const b = resolveColumn(scope, r.column_names as string[]);
        if (a.ok && b.ok && (a.column.class === 'identifier' || b.column.class === 'identifier')) {
          this.state.touch(a.column);
          this.state.touch(b.column);
          if (this.allowedPair(a.column, b.column, term)) linked = true;
          continue;
        }
        if (!a.ok || !b.ok) unresolved = true;
      }
      this.expressions.checkCondition(term, {
        scope,
        views,
        aggregatesAllowed: false,
        insideAggregate: false,
        projection: false,
        place: 'JOIN ON',
      });
    }
    // An equality whose columns did not resolve was already refused (ambiguous or unknown): say that, not "no join
    // pair".
    if (!linked && !unresolved)
      this.state.refuse(
        'JOIN_NOT_ALLOWED',
        'Every join needs an equality between identifier columns that both owners allow (rules.joins); cross ' +
          'products and joins on other columns are refused.',
        node,
        { rule: 'rules.joins' },
      );
    return { tables, using };
  }

  /** Both owners must list the pair: A.x may join B.y only if A allows B.y and B allows A.x. */
  allowedPair(a: ColumnInfo, b: ColumnInfo, at: SqlNode): boolean {
    if (a.class !== 'identifier' || b.class !== 'identifier' || !a.origin || !b.origin) {
      this.state.refuse(
        'JOIN_NOT_ALLOWED',
        'Joins compare identifier columns passed through unchanged on both sides.',
        at,
        { rule: 'rules.joins' },
      );
      return false;
    }
    const allows = (from: typeof a.origin, to: typeof a.origin) =>
      (this.state.collaboration.datasets.get(from.dataset)?.rules.joins ?? []).some(
        (j) => j.column === from.column && j.dataset === to.dataset && j.partnerColumn === to.column,
      );
    if (allows(a.origin, b.origin) && allows(b.origin, a.origin)) {
      if (
        !commonType([
          { type: a.type, constant: false },
          { type: b.type, constant: false },
        ])
      ) {
        this.state.refuse(
          'TYPE_MISMATCH',
          `Joining ${a.origin.dataset}.${a.origin.column} (${typeName(a.type)}) ` +
            `with ${b.origin.dataset}.${b.origin.column} (${typeName(b.type)}) ` +
            `would convert one to the other, which can fail on one row.`,
          at,
          { rule: 'types: no implicit conversion that can fail' },
        );
        return false;
      }
      this.state.joinPairs.push({ a: a.origin, b: b.origin });
      return true;
    }
    this.state.refuse(
      'JOIN_NOT_ALLOWED',
      `Joining ${a.origin.dataset}.${a.origin.column} with ${b.origin.dataset}.${b.origin.column} is not allowed ` +
        `by both owners' rules.joins.`,
      at,
      {
        rule: `datasets.${a.origin.dataset}.rules.joins`,
        dataset: a.origin.dataset,
        column: a.origin.column,
      },
    );
    return false;
  }
}

const single = (table: ScopeTable): Scope => ({ tables: [table] });

/** Columns of a dataset as the checker sees them: each bare, with its class and origin. */
function datasetColumns(dataset: Dataset): Map<string, ColumnInfo> {
  return new Map(
    dataset.columns.map((c) => [
      c.name,
      {
        name: c.name,
        class: c.class,
        type: fromTypeName(c.type),
        datasets: new Set([dataset.name]),
        origin: { dataset: dataset.name, column: c.name },
      },
    ]),
  );
}

/** Splits a condition on AND. */
function conjuncts(node: SqlNode): SqlNode[] {
  if (node.class === 'CONJUNCTION' && node.type === 'CONJUNCTION_AND')
    return children(node, 'children').flatMap(conjuncts);
  return [node];
}
