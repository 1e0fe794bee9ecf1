import type { Collaboration } from '../policy/collaboration.ts';
import type { AggregateName, ColumnClass } from '../policy/policy-document.ts';
import { CheckerState, RESERVED_PREFIX } from './checker-state.ts';
import type { Diagnostic } from '../errors/diagnostic.ts';
import { ExpressionChecker } from './expression-checker.ts';
import type { ExprContext, ExprFacts } from './expression-facts.ts';
import { RelationChecker } from './relation-checker.ts';
import type { RewriteEdit } from './rewrite-edits.ts';
import type { ColumnOrigin, SemiJoinUnit, UnitColumn } from './scope.ts';
import { caseWhen, child, children, columnRef, fold, integerConstant, text, type SqlNode } from './sql-tree.ts';
import type { SqlType } from './sql-types.ts';

export { RESERVED_PREFIX };

/** One group-size count: the distinct values of `expression` are one dataset's people in the group. */
export interface UnitCount {
  readonly dataset: string;
  readonly kind: 'column' | 'semi-join';
  readonly expression: SqlNode;
  /** for a unit column: its reference in the released query's FROM */
  readonly ref?: readonly string[];
  /** for a semi-join: `expression` is CASE WHEN membership THEN probe END, the matched probe values */
  readonly semiJoin?: { readonly membership: SqlNode; readonly probe: SqlNode };
}

/** What a released query reads, releases and needs from the rewriter. */
export interface CheckedRelease {
  readonly datasets: ReadonlySet<string>;
  readonly columns: ReadonlyMap<string, ColumnClass>;
  /** privacy-unit columns of the released query's FROM tables (each dataset, through any view depth) */
  readonly units: readonly UnitColumn[];
  /** what the rewriter counts per group: each unit column, and each semi-join's matched values */
  readonly unitCounts: readonly UnitCount[];
  readonly outputs: readonly {
    readonly name: string;
    readonly kind: 'aggregate' | 'dimension';
    readonly aggregates: readonly AggregateName[];
  }[];
  readonly parameters: ReadonlySet<string>;
  readonly limit?: number;
  /** identifier pairs joined or semi-joined by equality, by origin */
  readonly joinPairs: readonly { readonly a: ColumnOrigin; readonly b: ColumnOrigin }[];
  /** the kinds of join the query uses */
  readonly joinTypes: ReadonlySet<string>;
  /** for each column an aggregate takes (by shape key): the datasets it comes from */
  readonly aggregateArguments: ReadonlyMap<string, ReadonlySet<string>>;
  /** aggregate arguments (by shape key) that are numeric or boolean wherever they appear: sums of sums are exact */
  readonly summableArguments: ReadonlySet<string>;
}

/**
 * Walks DuckDB's parse tree of one query against the collaboration's rules. Pure and synchronous;
 * collects every violation with its rule and position instead of stopping at the first, and
 * records the edits the rewriter will make. Relations and expressions have their own checkers.
 */
export class QueryChecker {
  private readonly state: CheckerState;
  private readonly relations: RelationChecker;
  private readonly expressions: ExpressionChecker;

  constructor(collaboration: Collaboration, sql: string, parameterTypes?: ReadonlyMap<string, SqlType>) {
    this.state = new CheckerState(collaboration, sql, parameterTypes);
    this.relations = new RelationChecker(this.state);
    this.expressions = new ExpressionChecker(this.state, this.relations);
    this.relations.expressions = this.expressions;
  }

  get diagnostics(): readonly Diagnostic[] {
    return this.state.diagnostics;
  }

  get edits(): readonly RewriteEdit[] {
    return this.state.edits;
  }

  /** Checks the released (top-level) query. */
  checkRelease(node: SqlNode): CheckedRelease | undefined {
    if (node.type === 'SET_OPERATION_NODE') {
      this.state.refuse(
        'SET_OPERATION_NOT_ALLOWED',
        'UNION, INTERSECT and EXCEPT are not allowed: each released row must come from one thresholded aggregate.',
        node,
      );
      return undefined;
    }
    if (node.type !== 'SELECT_NODE') {
      this.state.refuse(
        'CONSTRUCT_NOT_ALLOWED',
        `A ${node.type ?? 'statement'} cannot be released; send one SELECT.`,
        node,
      );
      return undefined;
    }
    const views = this.relations.checkCtes(node, new Map());
    let limit: number | undefined;
    for (const modifier of children(node, 'modifiers')) {
      if (modifier.type === 'LIMIT_MODIFIER') {
        const value = child(modifier, 'limit');
        const constant = integerConstant(value);
        if (constant === undefined || constant < 0 || child(modifier, 'offset')) {
          this.state.refuse(
            'CONSTRUCT_NOT_ALLOWED',
            'LIMIT must be a whole-number constant without OFFSET.',
            value ?? node,
          );
        } else limit = constant;
      } else if (modifier.type === 'DISTINCT_MODIFIER') {
        this.state.refuse(
          'CONSTRUCT_NOT_ALLOWED',
          'SELECT DISTINCT is not allowed on released rows; use GROUP BY.',
          node,
        );
      } else if (modifier.type !== 'ORDER_MODIFIER') {
        this.state.refuse('CONSTRUCT_NOT_ALLOWED', `The ${modifier.type ?? 'unknown'} clause is not allowed.`, node);
      }
    }
    this.relations.rejectClauses(node, ['qualify', 'sample']);
    const groupSets = Array.isArray(node.group_sets) ? (node.group_sets as unknown[]) : [];
    if (groupSets.length > 1)
      this.state.refuse(
        'CONSTRUCT_NOT_ALLOWED',
        'GROUPING SETS, ROLLUP and CUBE are not allowed: release one grouping per query.',
        node,
      );

    const scope = this.relations.checkFrom(child(node, 'from_table'), views, node);
    if (!scope) return undefined;
    const semiJoins: SemiJoinUnit[] = [];
    const rowContext: ExprContext = {
      scope,
      views,
      aggregatesAllowed: false,
      insideAggregate: false,
      projection: false,
      place: 'WHERE',
      semiJoins,
    };
    const where = child(node, 'where_clause');
    if (where) this.expressions.checkCondition(where, rowContext);

    const aggContext: ExprContext = { ...rowContext, aggregatesAllowed: true, place: 'SELECT' };
    const outputs: { name: string; kind: 'aggregate' | 'dimension'; aggregates: AggregateName[] }[] = [];
    const aliases = new Map<string, ExprFacts>();
    children(node, 'select_list').forEach((item, i) => {
      const facts = this.expressions.check(item, aggContext);
      const name =
        text(item, 'alias') ||
        (item.class === 'COLUMN_REF' ? String((item.column_names as string[]).at(-1)) : `col${i}`);
      if (fold(name).startsWith(RESERVED_PREFIX))
        this.state.refuse('RESERVED_NAME', `Names starting with ${RESERVED_PREFIX} are reserved for the room.`, item);
      if (aliases.has(fold(name)))
        this.state.refuse(
          'CONSTRUCT_NOT_ALLOWED',
          `Two released columns are named "${name}"; give every column its own name.`,
          item,
        );
      aliases.set(fold(name), facts);
      outputs.push({ name, kind: facts.aggregate ? 'aggregate' : 'dimension', aggregates: [...facts.aggregates] });
    });
    const groupContext: ExprContext = { ...rowContext, place: 'GROUP BY', aliases };
    const groups = children(node, 'group_expressions');
    groups.forEach((g) => this.expressions.check(g, groupContext));
    const having = child(node, 'having');
    if (having)
      this.expressions.checkCondition(having, { ...aggContext, place: 'HAVING', aliases, semiJoins: undefined });
    for (const modifier of children(node, 'modifiers')) {
      if (modifier.type !== 'ORDER_MODIFIER') continue;
      for (const order of children(modifier, 'orders')) {
        const expression = child(order, 'expression');
        if (expression)
          this.expressions.check(expression, { ...aggContext, place: 'ORDER BY', aliases, semiJoins: undefined });
      }
    }
    const aggregated =
      outputs.some((o) => o.kind === 'aggregate') ||
      groups.length > 0 ||
      node.aggregate_handling === 'FORCE_AGGREGATES';
    if (!aggregated)
      this.state.refuse(
        'NOT_AGGREGATED',
        'Only aggregates leave the room: add GROUP BY and aggregate functions (count, sum, avg, …).',
        node,
      );

    const units = scope.tables.flatMap((t) => t.units);
    const unitCounts: UnitCount[] = [
      ...scope.tables.flatMap((t) =>
        t.units.map((unit) => ({
          dataset: unit.dataset,
          kind: 'column' as const,
          expression: columnRef([t.alias, unit.column]),
          ref: [t.alias, unit.column],
        })),
      ),
      ...semiJoins.map((j) => ({
        dataset: j.dataset,
        kind: 'semi-join' as const,
        expression: caseWhen(j.membership, j.probe),
        semiJoin: { membership: j.membership, probe: j.probe },
      })),
    ];
    // A dataset read twice in FROM (joined to itself through another, or through two views)
    // multiplies one person's rows: n^k rows for k copies, so whether the query fits in memory
    // or time would depend on one person's data. Conditions on a dataset combine with IN (SELECT …).
    const occurrences = new Map<string, number>();
    for (const unit of units) if (!unit.covers) occurrences.set(unit.dataset, (occurrences.get(unit.dataset) ?? 0) + 1);
    for (const [dataset, times] of occurrences) {
      if (times > 1) {
        this.state.refuse(
          'JOIN_NOT_ALLOWED',
          `${dataset} is read ${times} times in FROM; a join of a dataset with itself multiplies one person's rows. ` +
            `Combine conditions on it with IN (SELECT …) instead.`,
          node,
          { dataset, rule: 'one read per dataset in FROM' },
        );
      }
    }
    // Every dataset read must be counted; a release without a count would pass every group.
    const counted = new Set([
      ...units.flatMap((u) => [u.dataset, ...(u.covers ?? [])]),
      ...semiJoins.flatMap((j) => [...j.covers]),
    ]);
    for (const dataset of this.state.datasetsRead) {
      if (!counted.has(dataset) && this.state.diagnostics.length === 0) {
        this.state.refuse(
          'VIEW_DROPS_PRIVACY_UNIT',
          `The room could not find whose data ${dataset} contributes to each group, so it cannot count its people; ` +
            `read it through a view or IN (SELECT …) that keeps its privacy unit.`,
          node,
          {
            dataset,
            rule: `datasets.${dataset}.rules.privacyUnit`,
          },
        );
      }
    }
    return {
      datasets: new Set(this.state.datasetsRead),
      columns: new Map(this.state.columnsTouched),
      units,
      unitCounts,
      outputs,
      parameters: new Set(this.state.parameters),
      limit,
      joinPairs: [...this.state.joinPairs],
      aggregateArguments: new Map(this.state.aggregateArguments),
      summableArguments: new Set([...this.state.summable].filter((k) => !this.state.notSummable.has(k))),
      joinTypes: new Set(this.state.joinTypes),
    };
  }
}
