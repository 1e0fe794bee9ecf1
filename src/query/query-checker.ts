import type { Collaboration, Dataset } from '../policy/collaboration.ts';
import type { AggregateName, ColumnClass } from '../policy/policy-document.ts';
import { AGGREGATES, CONSTANT_ARGUMENT, OPERATORS, SCALAR_FUNCTIONS } from './allowed-functions.ts';
import { positionOf, type Diagnostic, type DiagnosticCode } from './diagnostics.ts';
import type { RewriteEdit } from './rewrite-edits.ts';
import { resolveColumn, strictestClass, type ColumnInfo, type ColumnOrigin, type Scope, type ScopeTable, type UnitColumn, type ViewInfo } from './scope.ts';
import { child, children, fold, isNode, text, type SqlNode } from './sql-tree.ts';

export const RESERVED_PREFIX = '__cr_';

const ARITHMETIC = new Set(['+', '-', '*', '/', '//', '%']);

/** Where an expression sits decides what it may contain. */
interface ExprContext {
  readonly scope: Scope;
  readonly views: ReadonlyMap<string, ViewInfo>;
  /** aggregates allowed here (select list, HAVING, ORDER BY of the released query) */
  readonly aggregatesAllowed: boolean;
  readonly insideAggregate: boolean;
  /** a view's select list: identifiers and metrics may pass through, to be checked where used */
  readonly projection: boolean;
  readonly place: string;
  readonly aliases?: ReadonlyMap<string, ExprFacts>;
}

/** What the checker learned about an expression. */
export interface ExprFacts {
  readonly aggregate: boolean;
  readonly classes: ReadonlySet<ColumnClass>;
  readonly datasets: ReadonlySet<string>;
  readonly aggregates: readonly AggregateName[];
  /** a bare column reference passes its info through (for views and joins) */
  readonly bare?: ColumnInfo;
}

const none: ExprFacts = { aggregate: false, classes: new Set(), datasets: new Set(), aggregates: [] };

const merge = (facts: readonly ExprFacts[]): ExprFacts => ({
  aggregate: facts.some((f) => f.aggregate),
  classes: new Set(facts.flatMap((f) => [...f.classes])),
  datasets: new Set(facts.flatMap((f) => [...f.datasets])),
  aggregates: facts.flatMap((f) => f.aggregates),
});

/** What a released query reads, releases and needs from the rewriter. */
export interface CheckedRelease {
  readonly datasets: ReadonlySet<string>;
  readonly columns: ReadonlyMap<string, ColumnClass>;
  readonly units: readonly UnitColumn[];
  readonly unitRefs: readonly { readonly unit: UnitColumn; readonly ref: readonly string[] }[];
  readonly outputs: readonly { readonly name: string; readonly kind: 'aggregate' | 'dimension'; readonly aggregates: readonly AggregateName[] }[];
  readonly parameters: ReadonlySet<string>;
  readonly limit?: number;
  /** identifier pairs joined or semi-joined by equality, by origin */
  readonly joinPairs: readonly { readonly a: ColumnOrigin; readonly b: ColumnOrigin }[];
}

/**
 * Walks DuckDB's parse tree of one query against the collaboration's rules. Pure and synchronous;
 * collects every violation with its rule and position instead of stopping at the first, and
 * records the edits the threshold rewriter will make.
 */
export class QueryChecker {
  readonly diagnostics: Diagnostic[] = [];
  readonly edits: RewriteEdit[] = [];
  private readonly datasetsRead = new Set<string>();
  private readonly columnsTouched = new Map<string, ColumnClass>();
  private readonly parameters = new Set<string>();
  private readonly joinPairs: { a: ColumnOrigin; b: ColumnOrigin }[] = [];
  private unitCounter = 0;

  constructor(private readonly collaboration: Collaboration, private readonly sql: string) {}

  refuse(code: DiagnosticCode, message: string, node: SqlNode | undefined, extra: { rule?: string; dataset?: string; column?: string } = {}): void {
    const position = positionOf(this.sql, node?.query_location);
    this.diagnostics.push({ code, message, rule: extra.rule ?? 'deny-by-default', ...(extra.dataset ? { dataset: extra.dataset } : {}), ...(extra.column ? { column: extra.column } : {}), ...(position ? { position } : {}) });
  }

  /** Checks the released (top-level) query. */
  checkRelease(node: SqlNode): CheckedRelease | undefined {
    if (node.type === 'SET_OPERATION_NODE') {
      this.refuse('SET_OPERATION_NOT_ALLOWED', 'UNION, INTERSECT and EXCEPT are not allowed: each released row must come from one thresholded aggregate.', node);
      return undefined;
    }
    if (node.type !== 'SELECT_NODE') {
      this.refuse('CONSTRUCT_NOT_ALLOWED', `A ${node.type ?? 'statement'} cannot be released; send one SELECT.`, node);
      return undefined;
    }
    const views = this.checkCtes(node, new Map());
    let limit: number | undefined;
    for (const modifier of children(node, 'modifiers')) {
      if (modifier.type === 'LIMIT_MODIFIER') {
        const value = child(modifier, 'limit');
        const constant = value && value.class === 'CONSTANT' ? (child(value, 'value')?.value as unknown) : undefined;
        if (typeof constant !== 'number' || !Number.isInteger(constant) || constant < 0 || child(modifier, 'offset')) {
          this.refuse('CONSTRUCT_NOT_ALLOWED', 'LIMIT must be a whole-number constant without OFFSET.', value ?? node);
        } else limit = constant;
      } else if (modifier.type === 'DISTINCT_MODIFIER') {
        this.refuse('CONSTRUCT_NOT_ALLOWED', 'SELECT DISTINCT is not allowed on released rows; use GROUP BY.', node);
      } else if (modifier.type !== 'ORDER_MODIFIER') {
        this.refuse('CONSTRUCT_NOT_ALLOWED', `The ${modifier.type ?? 'unknown'} clause is not allowed.`, node);
      }
    }
    this.rejectClauses(node, ['qualify', 'sample']);
    const groupSets = Array.isArray(node.group_sets) ? (node.group_sets as unknown[]) : [];
    if (groupSets.length > 1) this.refuse('CONSTRUCT_NOT_ALLOWED', 'GROUPING SETS, ROLLUP and CUBE are not allowed: release one grouping per query.', node);

    const scope = this.checkFrom(child(node, 'from_table'), views, true, node);
    if (!scope) return undefined;
    const rowContext: ExprContext = { scope, views, aggregatesAllowed: false, insideAggregate: false, projection: false, place: 'WHERE' };
    const where = child(node, 'where_clause');
    if (where) this.checkExpr(where, rowContext);

    const aggContext: ExprContext = { ...rowContext, aggregatesAllowed: true, place: 'SELECT' };
    const outputs: { name: string; kind: 'aggregate' | 'dimension'; aggregates: AggregateName[] }[] = [];
    const aliases = new Map<string, ExprFacts>();
    children(node, 'select_list').forEach((item, i) => {
      const facts = this.checkExpr(item, aggContext);
      const name = text(item, 'alias') || (item.class === 'COLUMN_REF' ? String((item.column_names as string[]).at(-1)) : `col${i}`);
      if (fold(name).startsWith(RESERVED_PREFIX)) this.refuse('RESERVED_NAME', `Names starting with ${RESERVED_PREFIX} are reserved for the room.`, item);
      if (aliases.has(fold(name))) this.refuse('CONSTRUCT_NOT_ALLOWED', `Two released columns are named "${name}"; give every column its own name.`, item);
      aliases.set(fold(name), facts);
      outputs.push({ name, kind: facts.aggregate ? 'aggregate' : 'dimension', aggregates: [...facts.aggregates] });
    });
    const groupContext: ExprContext = { ...rowContext, place: 'GROUP BY', aliases };
    const groups = children(node, 'group_expressions');
    groups.forEach((g) => this.checkExpr(g, groupContext));
    const having = child(node, 'having');
    if (having) this.checkExpr(having, { ...aggContext, place: 'HAVING', aliases });
    for (const modifier of children(node, 'modifiers')) {
      if (modifier.type !== 'ORDER_MODIFIER') continue;
      for (const order of children(modifier, 'orders')) {
        const expression = child(order, 'expression');
        if (expression) this.checkExpr(expression, { ...aggContext, place: 'ORDER BY', aliases });
      }
    }
    const aggregated = outputs.some((o) => o.kind === 'aggregate') || groups.length > 0 || node.aggregate_handling === 'FORCE_AGGREGATES';
    if (!aggregated) this.refuse('NOT_AGGREGATED', 'Only aggregates leave the room: add GROUP BY and aggregate functions (count, sum, avg, …).', node);

    const units = scope.tables.flatMap((t) => t.units);
    const unitRefs = scope.tables.flatMap((t) => t.units.map((unit) => ({ unit, ref: [t.alias, unit.column] })));
    return { datasets: new Set(this.datasetsRead), columns: new Map(this.columnsTouched), units, unitRefs, outputs, parameters: new Set(this.parameters), limit, joinPairs: [...this.joinPairs] };
  }

  private rejectClauses(node: SqlNode, keys: readonly string[]): void {
    for (const key of keys) if (node[key] !== null && node[key] !== undefined) this.refuse('CONSTRUCT_NOT_ALLOWED', `${key.toUpperCase()} is not allowed.`, child(node, key) ?? node);
  }

  /** CTEs are row-level views; each may read datasets and earlier CTEs. */
  private checkCtes(node: SqlNode, outer: ReadonlyMap<string, ViewInfo>): Map<string, ViewInfo> {
    const views = new Map(outer);
    const entries = Array.isArray((node.cte_map as { map?: unknown } | undefined)?.map) ? ((node.cte_map as { map: unknown[] }).map) : [];
    for (const entry of entries) {
      const key = (entry as { key?: unknown }).key;
      const query = (entry as { value?: { query?: { node?: unknown } } }).value?.query?.node;
      if (typeof key !== 'string' || !isNode(query)) continue;
      const name = fold(key);
      if (this.collaboration.datasets.has(name)) {
        this.refuse('RESERVED_NAME', `A CTE may not be named like the dataset "${name}".`, node);
        continue;
      }
      if (name.startsWith(RESERVED_PREFIX)) this.refuse('RESERVED_NAME', `Names starting with ${RESERVED_PREFIX} are reserved for the room.`, node);
      const view = this.checkView(query, views, name);
      if (view) views.set(name, view);
    }
    return views;
  }

  /** A row-level view: filters and projects datasets; no aggregation, windows, ordering or limits. */
  checkView(node: SqlNode, outerViews: ReadonlyMap<string, ViewInfo>, name: string): ViewInfo | undefined {
    if (node.type !== 'SELECT_NODE') {
      this.refuse(node.type === 'SET_OPERATION_NODE' ? 'SET_OPERATION_NOT_ALLOWED' : 'CONSTRUCT_NOT_ALLOWED', `View "${name}" must be a single SELECT.`, node);
      return undefined;
    }
    const views = this.checkCtes(node, outerViews);
    let distinct = false;
    for (const modifier of children(node, 'modifiers')) {
      if (modifier.type === 'DISTINCT_MODIFIER' && children(modifier, 'distinct_on_targets').length === 0) distinct = true;
      else this.refuse('CONSTRUCT_NOT_ALLOWED', `View "${name}" may not use ${modifier.type === 'LIMIT_MODIFIER' ? 'LIMIT' : modifier.type === 'ORDER_MODIFIER' ? 'ORDER BY' : 'DISTINCT ON'}: it would pick out particular rows.`, node);
    }
    this.rejectClauses(node, ['qualify', 'sample', 'having']);
    if (children(node, 'group_expressions').length > 0 || node.aggregate_handling === 'FORCE_AGGREGATES') {
      this.refuse('AGGREGATE_MISPLACED', `View "${name}" may not aggregate: only the released query aggregates, so thresholds apply to what leaves.`, node);
    }
    const scope = this.checkFrom(child(node, 'from_table'), views, false, node);
    if (!scope) return undefined;
    const rowContext: ExprContext = { scope, views, aggregatesAllowed: false, insideAggregate: false, projection: false, place: `WHERE of ${name}` };
    const where = child(node, 'where_clause');
    if (where) this.checkExpr(where, rowContext);
    const columns = new Map<string, ColumnInfo>();
    children(node, 'select_list').forEach((item, i) => {
      const facts = this.checkExpr(item, { ...rowContext, projection: true, place: `SELECT of ${name}` });
      const outName = fold(text(item, 'alias') || (item.class === 'COLUMN_REF' ? String((item.column_names as string[]).at(-1)) : `col${i}`));
      if (outName.startsWith(RESERVED_PREFIX)) this.refuse('RESERVED_NAME', `Names starting with ${RESERVED_PREFIX} are reserved for the room.`, item);
      // DuckDB resolves a repeated name to its first definition; lineage must never guess which.
      if (columns.has(outName)) this.refuse('CONSTRUCT_NOT_ALLOWED', `View "${name}" names two columns "${outName}"; give every column its own name.`, item);
      if (facts.bare) columns.set(outName, { ...facts.bare, name: outName });
      else {
        const cls = strictestClass(facts.classes);
        if (cls === 'identifier') this.refuse('IDENTIFIER_MISUSE', `View "${name}" computes an expression from an identifier; identifiers may only pass through unchanged, to be joined on.`, item, { rule: 'column class identifier' });
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
        c.origin.column === this.collaboration.datasets.get(unit.dataset)?.rules.privacyUnit);
      if (passed) {
        exposed.push({ dataset: unit.dataset, column: passed.name });
      } else if (view.distinct) {
        this.refuse('VIEW_DROPS_PRIVACY_UNIT', `View "${view.name}" is DISTINCT without its privacy unit ${unit.dataset}.${unit.column}, so groups could not be counted in people; select the unit too.`, at, { dataset: unit.dataset, column: unit.column, rule: `datasets.${unit.dataset}.rules.privacyUnit` });
      } else {
        const alias = `${RESERVED_PREFIX}unit_${this.unitCounter++}`;
        this.edits.push({ kind: 'project-unit', view: view.node, ref: [tableAlias, unit.column], alias });
        exposed.push({ dataset: unit.dataset, column: alias });
      }
    }
    view.exposedUnits = exposed;
    return exposed;
  }

  /** Builds the scope of a FROM clause: datasets, views and allowed joins only. */
  checkFrom(node: SqlNode | undefined, views: ReadonlyMap<string, ViewInfo>, needUnits: boolean, at: SqlNode): Scope | undefined {
    if (!node || node.type === 'EMPTY') {
      this.refuse('TABLE_NOT_ALLOWED', 'A query must read at least one collaboration dataset.', at);
      return undefined;
    }
    const tables = this.tableRef(node, views, needUnits);
    return tables ? { tables } : undefined;
  }

  private tableRef(node: SqlNode, views: ReadonlyMap<string, ViewInfo>, needUnits: boolean): ScopeTable[] | undefined {
    const alias = fold(text(node, 'alias'));
    if (Array.isArray(node.column_name_alias) && node.column_name_alias.length > 0) {
      this.refuse('CONSTRUCT_NOT_ALLOWED', 'Renaming a table\'s columns in FROM (t(a, b)) is not allowed; alias columns in SELECT.', node);
    }
    if (node.sample) this.refuse('CONSTRUCT_NOT_ALLOWED', 'TABLESAMPLE is not allowed.', node);
    switch (node.type) {
      case 'BASE_TABLE': {
        const name = fold(text(node, 'table_name'));
        if (text(node, 'schema_name') || text(node, 'catalog_name')) {
          this.refuse('QUALIFIED_NAME_NOT_ALLOWED', `Name datasets without a schema or catalog: "${name}".`, node);
          return undefined;
        }
        if (node.at_clause) this.refuse('CONSTRUCT_NOT_ALLOWED', 'AT (time travel) is not allowed.', node);
        const view = views.get(name);
        if (view) {
          const units = needUnits ? this.exposeUnits(view, node) : [];
          return [{ alias: alias || name, columns: view.columns, units, datasets: view.datasets }];
        }
        const dataset = this.collaboration.datasets.get(name);
        if (!dataset) {
          this.refuse('TABLE_NOT_ALLOWED', `"${text(node, 'table_name')}" is not a dataset of collaboration "${this.collaboration.id}" or a CTE of this query.`, node, { rule: 'datasets' });
          return undefined;
        }
        this.datasetsRead.add(dataset.name);
        this.edits.push({ kind: 'qualify-table', table: node, schema: this.collaboration.id, alias: alias || name });
        return [{ alias: alias || name, columns: datasetColumns(dataset), units: [{ dataset: dataset.name, column: dataset.rules.privacyUnit }], datasets: new Set([dataset.name]) }];
      }
      case 'SUBQUERY': {
        const inner = (node.subquery as { node?: unknown } | undefined)?.node;
        if (!isNode(inner)) return undefined;
        const view = this.checkView(inner, views, alias || 'subquery');
        if (!view) return undefined;
        let named = alias;
        if (!named) {
          named = `${RESERVED_PREFIX}sub_${this.unitCounter++}`;
          this.edits.push({ kind: 'alias-subquery', table: node, alias: named });
        }
        const units = needUnits ? this.exposeUnits(view, node) : [];
        return [{ alias: named, columns: view.columns, units, datasets: view.datasets }];
      }
      case 'JOIN':
        return this.join(node, views, needUnits);
      case 'TABLE_FUNCTION':
        this.refuse('TABLE_FUNCTION_NOT_ALLOWED', 'Table functions (read_csv, read_parquet, range, duckdb_settings, …) are not allowed: a query reads collaboration datasets only.', node);
        return undefined;
      default:
        this.refuse('CONSTRUCT_NOT_ALLOWED', `${node.type ?? 'This'} is not allowed in FROM.`, node);
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
      this.refuse('JOIN_NOT_ALLOWED', `${refType} joins are not allowed: join on an identifier pair the owners allow.`, node, { rule: 'rules.joins' });
      return tables;
    }
    if (!['INNER', 'LEFT', 'RIGHT', 'OUTER'].includes(text(node, 'join_type'))) {
      this.refuse('JOIN_NOT_ALLOWED', `${text(node, 'join_type')} joins are not allowed.`, node, { rule: 'rules.joins' });
    }
    let linked = false;
    const using = Array.isArray(node.using_columns) ? (node.using_columns as string[]) : [];
    for (const name of using) {
      const a = resolveColumn({ tables: left }, [name]);
      const b = resolveColumn({ tables: right }, [name]);
      if (a.ok && b.ok && this.allowedPair(a.column, b.column, node)) linked = true;
      else if (!a.ok || !b.ok) this.refuse('COLUMN_UNKNOWN', `USING column "${name}" is not on both sides.`, node);
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
          this.touch(a.column);
          this.touch(b.column);
          if (this.allowedPair(a.column, b.column, term)) linked = true;
          continue;
        }
      }
      this.checkExpr(term, { scope, views, aggregatesAllowed: false, insideAggregate: false, projection: false, place: 'JOIN ON' });
    }
    if (!linked) this.refuse('JOIN_NOT_ALLOWED', 'Every join needs an equality between identifier columns that both owners allow (rules.joins); cross products and joins on other columns are refused.', node, { rule: 'rules.joins' });
    return tables;
  }

  /** Both owners must list the pair: A.x may join B.y only if A allows B.y and B allows A.x. */
  private allowedPair(a: ColumnInfo, b: ColumnInfo, at: SqlNode): boolean {
    if (a.class !== 'identifier' || b.class !== 'identifier' || !a.origin || !b.origin) {
      this.refuse('JOIN_NOT_ALLOWED', 'Joins compare identifier columns passed through unchanged on both sides.', at, { rule: 'rules.joins' });
      return false;
    }
    const allows = (from: typeof a.origin, to: typeof a.origin) =>
      (this.collaboration.datasets.get(from.dataset)?.rules.joins ?? []).some((j) => j.column === from.column && j.dataset === to.dataset && j.partnerColumn === to.column);
    if (allows(a.origin, b.origin) && allows(b.origin, a.origin)) {
      this.joinPairs.push({ a: a.origin, b: b.origin });
      return true;
    }
    this.refuse('JOIN_NOT_ALLOWED', `Joining ${a.origin.dataset}.${a.origin.column} with ${b.origin.dataset}.${b.origin.column} is not allowed by both owners' rules.joins.`, at, {
      rule: `datasets.${a.origin.dataset}.rules.joins`, dataset: a.origin.dataset, column: a.origin.column,
    });
    return false;
  }

  private touch(column: ColumnInfo): void {
    if (column.origin) this.columnsTouched.set(`${column.origin.dataset}.${column.origin.column}`, column.class);
    else for (const d of column.datasets) this.columnsTouched.set(`${d}.${column.name}`, column.class);
  }

  /** Checks one expression in its context and returns what it is made of. */
  checkExpr(node: SqlNode, ctx: ExprContext): ExprFacts {
    switch (node.class) {
      case 'CONSTANT': {
        // The tree travels as JSON through JavaScript numbers; an integer past 2^53 would be
        // silently changed on the way back, so the room refuses rather than run another query.
        const constant = node.value as { value?: unknown; type?: { id?: string } } | undefined;
        const integerType = /INT/.test(constant?.type?.id ?? '');
        if (integerType && typeof constant?.value === 'number' && !Number.isSafeInteger(constant.value)) {
          this.refuse('CONSTRUCT_NOT_ALLOWED', 'Integer constants beyond ±2^53 are not supported; use a DOUBLE literal (e.g. 1e19).', node);
        }
        return none;
      }
      case 'PARAMETER':
        this.parameters.add(text(node, 'identifier'));
        return none;
      case 'COLUMN_REF':
        return this.columnRef(node, ctx);
      case 'FUNCTION':
        return this.functionCall(node, ctx);
      case 'WINDOW':
        this.refuse('WINDOW_NOT_ALLOWED', 'Window functions are not allowed: they compute per-row values that would be released with each row.', node);
        return none;
      case 'STAR':
        this.refuse('STAR_NOT_ALLOWED', '* and COLUMNS(…) are not allowed: name the columns you need.', node);
        return none;
      case 'CASE':
        return merge([
          ...children(node, 'case_checks').flatMap((c) => [child(c, 'when_expr'), child(c, 'then_expr')]).filter(isNode).map((e) => this.checkExpr(e, ctx)),
          ...[child(node, 'else_expr')].filter(isNode).map((e) => this.checkExpr(e, ctx)),
        ]);
      case 'CAST':
        // A failing cast would turn one row's value into an error an attacker can observe.
        this.edits.push({ kind: 'try-cast', node });
        return this.passThrough(child(node, 'child'), ctx, false);
      case 'COMPARISON':
        return merge([child(node, 'left'), child(node, 'right')].filter(isNode).map((e) => this.checkExpr(e, ctx)));
      case 'CONJUNCTION':
        return merge(children(node, 'children').map((e) => this.checkExpr(e, ctx)));
      case 'BETWEEN':
        return merge([child(node, 'input'), child(node, 'lower'), child(node, 'upper')].filter(isNode).map((e) => this.checkExpr(e, ctx)));
      case 'OPERATOR':
        if (!OPERATORS.has(text(node, 'type'))) {
          this.refuse('FUNCTION_NOT_ALLOWED', `The operator ${text(node, 'type')} is not allowed (struct, list and map access can reach inside values).`, node);
          return none;
        }
        return merge(children(node, 'children').map((e) => this.checkExpr(e, ctx)));
      case 'SUBQUERY':
        return this.subquery(node, ctx);
      default:
        this.refuse('CONSTRUCT_NOT_ALLOWED', `${node.class ?? node.type ?? 'This expression'} is not allowed in ${ctx.place}.`, node);
        return none;
    }
  }

  private passThrough(inner: SqlNode | undefined, ctx: ExprContext, keepBare: boolean): ExprFacts {
    if (!inner) return none;
    const facts = this.checkExpr(inner, { ...ctx, projection: ctx.projection && keepBare });
    return { ...facts, bare: undefined };
  }

  private columnRef(node: SqlNode, ctx: ExprContext): ExprFacts {
    const names = node.column_names as string[];
    const resolved = resolveColumn(ctx.scope, names);
    const shown = names.join('.');
    if (!resolved.ok) {
      const alias = names.length === 1 ? ctx.aliases?.get(fold(names[0] as string)) : undefined;
      if (alias) return { ...alias, aggregate: false, aggregates: [] };
      if (resolved.reason === 'qualified') this.refuse('QUALIFIED_NAME_NOT_ALLOWED', `"${shown}": refer to columns as column or alias.column.`, node);
      else if (resolved.reason === 'ambiguous') this.refuse('COLUMN_AMBIGUOUS', `"${shown}" is in more than one table here; qualify it.`, node);
      else this.refuse('COLUMN_UNKNOWN', `"${shown}" is not a declared column of the datasets or views in scope (undeclared columns are never readable).`, node);
      return none;
    }
    const column = resolved.column;
    this.touch(column);
    const dataset = column.origin?.dataset ?? [...column.datasets][0];
    const where = { dataset, column: column.origin?.column ?? column.name, rule: `datasets.${dataset}.columns.${column.origin?.column ?? column.name}.class = ${column.class}` };
    const facts: ExprFacts = { aggregate: false, classes: new Set([column.class]), datasets: column.datasets, aggregates: [], bare: column };
    switch (column.class) {
      case 'blocked':
        this.refuse('COLUMN_BLOCKED', `${shown} is blocked by its owner and can never be referenced.`, node, where);
        return { ...facts, bare: undefined };
      case 'quasi':
        this.refuse('QUASI_IDENTIFIER_NOT_ALLOWED', `${shown} is a quasi-identifier: it is released only through k-anonymous extracts.`, node, where);
        return { ...facts, bare: undefined };
      case 'identifier':
        if (!ctx.projection) this.refuse('IDENTIFIER_MISUSE', `${shown} is an identifier: it may only join (equality on an allowed pair), be counted (count(DISTINCT …)) or test membership (IN (SELECT …)); it never appears in ${ctx.place} or in output.`, node, where);
        return facts;
      case 'metric':
        if (!ctx.insideAggregate && !ctx.projection) this.refuse('METRIC_OUTSIDE_AGGREGATE', `${shown} is a metric: it may only appear inside an allowed aggregate, not in ${ctx.place}.`, node, where);
        return facts;
      default:
        return facts;
    }
  }

  private functionCall(node: SqlNode, ctx: ExprContext): ExprFacts {
    const name = fold(text(node, 'function_name'));
    if (text(node, 'schema') || text(node, 'catalog')) {
      this.refuse('FUNCTION_NOT_ALLOWED', `Qualified function names (${text(node, 'schema')}.${name}) are not allowed.`, node);
      return none;
    }
    const ruleName = AGGREGATES.get(name);
    const args = children(node, 'children');
    if (!ruleName) {
      if (!SCALAR_FUNCTIONS.has(name)) {
        this.refuse('FUNCTION_NOT_ALLOWED', `${name}() is not on the room's function allow-list.`, node, { rule: 'function allow-list' });
        // Still report what its arguments touch: every violation, not only the first.
        args.forEach((a) => this.checkExpr(a, { ...ctx, projection: false }));
        return none;
      }
      const constantAt = CONSTANT_ARGUMENT.get(name);
      if (constantAt !== undefined && args[constantAt]?.class !== 'CONSTANT') {
        this.refuse('FUNCTION_NOT_ALLOWED', `The ${constantAt === 0 ? 'part' : 'format'} argument of ${name}() must be a constant, so it is checked before any row is read.`, node, { rule: 'function allow-list' });
      }
      const facts = merge(args.map((a) => this.checkExpr(a, { ...ctx, projection: false })));
      if (ARITHMETIC.has(name) && facts.classes.size > 0 && !facts.aggregate) {
        this.refuse('FUNCTION_NOT_ALLOWED', `Arithmetic (${name}) on row values is not allowed in ${ctx.place}: it can fail on one row and so reveal it. Compute over aggregates instead.`, node, { rule: 'function allow-list' });
      }
      if (facts.aggregate) for (const a of args) if (a.class === 'FUNCTION' && AGGREGATES.has(fold(text(a, 'function_name')))) this.edits.push({ kind: 'double-aggregate', node: a });
      return { ...facts, bare: undefined };
    }
    if (!ctx.aggregatesAllowed || ctx.insideAggregate || ctx.projection) {
      this.refuse('AGGREGATE_MISPLACED', `${name}() is not allowed in ${ctx.place}${ctx.insideAggregate ? ' (aggregates do not nest)' : ''}.`, node);
      return none;
    }
    const orders = (node.order_bys as { orders?: unknown[] } | undefined)?.orders ?? [];
    if (orders.length > 0) this.refuse('CONSTRUCT_NOT_ALLOWED', `ORDER BY inside ${name}() is not allowed.`, node);
    const distinct = node.distinct === true;
    const rule: AggregateName = name === 'count' && distinct ? 'count_distinct' : ruleName;
    const inner: ExprContext = { ...ctx, insideAggregate: true, aggregatesAllowed: false, place: `${name}()` };
    let argFacts: ExprFacts[];
    const single = args[0];
    if ((name === 'count') && args.length === 1 && single?.class === 'COLUMN_REF') {
      // count(x) and count(DISTINCT x) reveal how many, never which: identifiers are fine here.
      argFacts = [this.checkExpr(single, { ...inner, projection: true })];
      const bare = argFacts[0]?.bare;
      if (bare && (bare.class === 'blocked' || bare.class === 'quasi')) argFacts = [this.checkExpr(single, inner)];
    } else {
      argFacts = args.map((a) => this.checkExpr(a, inner));
    }
    const filter = child(node, 'filter');
    if (filter) {
      this.refuse('CONSTRUCT_NOT_ALLOWED', `FILTER on ${name}() would aggregate a hand-picked subset of the group, which the threshold does not see; filter with WHERE.`, node);
      this.checkExpr(filter, { ...ctx, aggregatesAllowed: false, place: `FILTER of ${name}()` });
    }
    for (const a of args) {
      if (a.class !== 'COLUMN_REF') {
        this.refuse('CONSTRUCT_NOT_ALLOWED', `${name}() takes a column, not an expression: a condition inside an aggregate can single out one person of a large group. Put conditions in WHERE or GROUP BY.`, a);
      }
    }
    const datasets = name === 'count_star' || argFacts.every((f) => f.datasets.size === 0)
      ? new Set(ctx.scope.tables.flatMap((t) => [...t.datasets]))
      : new Set(argFacts.flatMap((f) => [...f.datasets]));
    for (const d of datasets) {
      const rules = this.collaboration.datasets.get(d)?.rules;
      if (rules && !rules.aggregates.includes(rule)) {
        this.refuse('AGGREGATE_NOT_ALLOWED', `${rule} is not an aggregate the owner of ${d} allows (allowed: ${rules.aggregates.join(', ')}).`, node, { rule: `datasets.${d}.rules.aggregates`, dataset: d });
      }
    }
    const merged = merge(argFacts);
    return { aggregate: true, classes: merged.classes, datasets: merged.datasets, aggregates: [rule] };
  }

  /** Only `identifier IN (SELECT identifier FROM partner …)`: a semi-join on an allowed pair. */
  private subquery(node: SqlNode, ctx: ExprContext): ExprFacts {
    const probe = child(node, 'child');
    const inner = (node.subquery as { node?: unknown } | undefined)?.node;
    if (text(node, 'subquery_type') !== 'ANY' || text(node, 'comparison_type') !== 'COMPARE_EQUAL' || probe?.class !== 'COLUMN_REF' || !isNode(inner)) {
      this.refuse('SUBQUERY_NOT_ALLOWED', 'The only subquery allowed in an expression is identifier IN (SELECT identifier FROM partner dataset …); scalar and EXISTS subqueries would release unthresholded values.', node);
      return none;
    }
    const probed = resolveColumn(ctx.scope, probe.column_names as string[]);
    const view = this.checkView(inner, ctx.views, 'IN subquery');
    if (!probed.ok) {
      this.refuse('COLUMN_UNKNOWN', `"${(probe.column_names as string[]).join('.')}" is not a column in scope.`, probe);
      return none;
    }
    this.touch(probed.column);
    const projected = view ? [...view.columns.values()] : [];
    if (view && (projected.length !== 1 || projected[0]?.class !== 'identifier')) {
      this.refuse('SUBQUERY_NOT_ALLOWED', 'An IN subquery must select exactly one identifier column.', inner);
    } else if (view && projected[0]) {
      this.allowedPair(probed.column, projected[0], node);
    }
    return { aggregate: false, classes: new Set(['dimension']), datasets: new Set([...probed.column.datasets, ...(view?.datasets ?? [])]), aggregates: [] };
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
