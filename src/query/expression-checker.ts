import type { AggregateName } from '../policy/policy-document.ts';
import { AGGREGATES, CONSTANT_ARGUMENT, OPERATORS, SCALAR_FUNCTIONS } from './allowed-functions.ts';
import { shapeKey } from './dp-post-processing.ts';
import type { CheckerState } from './checker-state.ts';
import { merge, none, type ExprContext, type ExprFacts } from './expression-facts.ts';
import { resolveColumn, type ColumnInfo, type ViewInfo } from './scope.ts';
import { child, children, fold, isNode, text, type SqlNode } from './sql-tree.ts';
import {
  BOOLEAN,
  DOUBLE,
  UNKNOWN,
  commonType,
  fromLogicalType,
  isNumeric,
  isTemporal,
  typeName,
  type SqlType,
} from './sql-types.ts';
import { TypeRules, type Operand } from './type-rules.ts';

const ARITHMETIC = new Set(['+', '-', '*', '/', '//', '%']);

/** What the expression rules need from the relation checker: subquery views and join pairs. */
export interface RelationHooks {
  checkView(node: SqlNode, outerViews: ReadonlyMap<string, ViewInfo>, name: string): ViewInfo | undefined;
  allowedPair(a: ColumnInfo, b: ColumnInfo, at: SqlNode): boolean;
}

/**
 * The column-class rules inside expressions: where identifiers, metrics, blocked and quasi columns
 * may appear, which functions and aggregates are allowed, and the one allowed subquery form.
 */
export class ExpressionChecker {
  private readonly types: TypeRules;

  constructor(
    private readonly state: CheckerState,
    private readonly relations: RelationHooks,
  ) {
    this.types = new TypeRules(state);
  }

  /** Checks one expression in its context and returns what it is made of, with its type. */
  check(node: SqlNode, ctx: ExprContext): ExprFacts {
    switch (node.class) {
      case 'CONSTANT':
        return this.constant(node);
      case 'PARAMETER': {
        const name = text(node, 'identifier');
        this.state.parameters.add(name);
        // A template's declared type; ad hoc SQL takes no parameters and is refused elsewhere.
        return { ...none, type: this.state.parameterTypes.get(name) ?? UNKNOWN };
      }
      case 'COLUMN_REF':
        return this.columnRef(node, ctx);
      case 'FUNCTION':
        return this.functionCall(node, ctx);
      case 'WINDOW':
        this.state.refuse(
          'WINDOW_NOT_ALLOWED',
          'Window functions are not allowed: they compute per-row values that would be released with each row.',
          node,
        );
        return none;
      case 'STAR':
        this.state.refuse('STAR_NOT_ALLOWED', '* and COLUMNS(…) are not allowed: name the columns you need.', node);
        return none;
      case 'CASE': {
        const checks = children(node, 'case_checks');
        const conditions = checks
          .map((c) => child(c, 'when_expr'))
          .filter(isNode)
          .map((e) => this.operand(e, ctx));
        for (const condition of conditions) this.types.condition(condition, 'CASE WHEN');
        const results = [...checks.map((c) => child(c, 'then_expr')), child(node, 'else_expr')]
          .filter(isNode)
          .map((e) => this.operand(e, ctx));
        return this.facts([...conditions, ...results], this.types.meet(results, node, 'CASE'));
      }
      case 'CAST': {
        // A failing cast would turn one row's value into an error an attacker can observe.
        this.state.edits.push({ kind: 'try-cast', node });
        const inner = child(node, 'child');
        const facts = inner ? this.check(inner, { ...ctx, projection: false }) : none;
        const target = fromLogicalType(node.cast_type);
        if (target.kind === 'other' || target.kind === 'list')
          this.state.refuse('TYPE_MISMATCH', `Casts to ${typeName(target)} are not supported.`, node, {
            rule: 'types',
          });
        return { ...facts, bare: undefined, type: target };
      }
      case 'COMPARISON': {
        const operands = [child(node, 'left'), child(node, 'right')].filter(isNode).map((e) => this.operand(e, ctx));
        this.types.meet(operands, node, 'This comparison');
        return this.facts(operands, BOOLEAN);
      }
      case 'CONJUNCTION': {
        const operands = children(node, 'children').map((e) => this.operand(e, ctx));
        for (const operand of operands) this.types.condition(operand, node.type === 'CONJUNCTION_OR' ? 'OR' : 'AND');
        return this.facts(operands, BOOLEAN);
      }
      case 'BETWEEN': {
        const operands = [child(node, 'input'), child(node, 'lower'), child(node, 'upper')]
          .filter(isNode)
          .map((e) => this.operand(e, ctx));
        this.types.meet(operands, node, 'BETWEEN');
        return this.facts(operands, BOOLEAN);
      }
      case 'OPERATOR':
        return this.operator(node, ctx);
      case 'SUBQUERY':
        return this.subquery(node, ctx);
      default:
        this.state.refuse(
          'CONSTRUCT_NOT_ALLOWED',
          `${node.class ?? node.type ?? 'This expression'} is not allowed in ${ctx.place}.`,
          node,
        );
        return none;
    }
  }

  /** A condition (WHERE, HAVING, JOIN ON): checked, and required to be TRUE/FALSE. */
  checkCondition(node: SqlNode, ctx: ExprContext): ExprFacts {
    const operand = this.operand(node, ctx);
    this.types.condition(operand, ctx.place);
    return operand.facts;
  }

  /**
   * An expression used as an operand of another. An aggregate there is computed as DOUBLE, whose
   * arithmetic and comparisons never raise (HUGEINT sums would overflow a DECIMAL comparison).
   */
  private operand(node: SqlNode, ctx: ExprContext): Operand {
    const facts = this.check(node, { ...ctx, projection: false });
    if (node.class === 'FUNCTION' && AGGREGATES.has(fold(text(node, 'function_name'))) && isNumeric(facts.type)) {
      this.state.edits.push({ kind: 'double-aggregate', node });
      return { node, facts: { ...facts, type: DOUBLE } };
    }
    return { node, facts };
  }

  private facts(operands: readonly Operand[], type: SqlType): ExprFacts {
    return merge(
      operands.map((o) => o.facts),
      type,
    );
  }

  private constant(node: SqlNode): ExprFacts {
    const value = node.value as { value?: unknown; type?: { id?: string }; is_null?: boolean } | undefined;
    // The tree travels as JSON through JavaScript numbers; an integer past 2^53 would be
    // silently changed on the way back, so the room refuses rather than run another query.
    // DECIMALs travel as scaled integers (1.5 is 15), HUGEINTs as {upper, lower} pairs.
    const exactType = /INT|DECIMAL/.test(value?.type?.id ?? '');
    if (exactType && !value?.is_null && !(typeof value?.value === 'number' && Number.isSafeInteger(value.value))) {
      this.state.refuse(
        'CONSTRUCT_NOT_ALLOWED',
        'Integer and decimal constants beyond ±2^53 (in all their digits) are not supported; use a DOUBLE literal ' +
          '(e.g. 1e19).',
        node,
      );
    }
    if (value?.is_null) return none;
    const type: SqlType =
      value?.type?.id === 'VARCHAR'
        ? { kind: 'string-literal', value: String(value.value ?? '') }
        : fromLogicalType(value?.type);
    return { ...none, type };
  }

  private operator(node: SqlNode, ctx: ExprContext): ExprFacts {
    const kind = text(node, 'type');
    if (!OPERATORS.has(kind)) {
      this.state.refuse(
        'FUNCTION_NOT_ALLOWED',
        `The operator ${kind} is not allowed (struct, list and map access can reach inside values).`,
        node,
      );
      return none;
    }
    const operands = children(node, 'children').map((e) => this.operand(e, ctx));
    switch (kind) {
      case 'OPERATOR_NOT':
        for (const operand of operands) this.types.condition(operand, 'NOT');
        return this.facts(operands, BOOLEAN);
      case 'OPERATOR_IS_NULL':
      case 'OPERATOR_IS_NOT_NULL':
        return this.facts(operands, BOOLEAN);
      case 'COMPARE_IN':
      case 'COMPARE_NOT_IN':
        this.types.meet(operands, node, 'IN');
        return this.facts(operands, BOOLEAN);
      case 'OPERATOR_NULLIF':
        this.types.meet(operands, node, 'NULLIF');
        return this.facts(operands, operands[0]?.facts.type ?? UNKNOWN);
      default:
        return this.facts(operands, this.types.meet(operands, node, 'COALESCE'));
    }
  }

  private columnRef(node: SqlNode, ctx: ExprContext): ExprFacts {
    const names = node.column_names as string[];
    const resolved = resolveColumn(ctx.scope, names);
    const shown = names.join('.');
    if (!resolved.ok) {
      const alias = names.length === 1 ? ctx.aliases?.get(fold(names[0] as string)) : undefined;
      if (alias) return { ...alias, aggregate: false, aggregates: [], constant: false };
      if (resolved.reason === 'qualified')
        this.state.refuse(
          'QUALIFIED_NAME_NOT_ALLOWED',
          `"${shown}": refer to columns as column or alias.column.`,
          node,
        );
      else if (resolved.reason === 'ambiguous')
        this.state.refuse('COLUMN_AMBIGUOUS', `"${shown}" is in more than one table here; qualify it.`, node);
      else
        this.state.refuse(
          'COLUMN_UNKNOWN',
          `"${shown}" is not a declared column of the datasets or views in scope ` +
            `(undeclared columns are never readable).`,
          node,
        );
      return none;
    }
    const column = resolved.column;
    this.state.touch(column);
    const dataset = column.origin?.dataset ?? [...column.datasets][0];
    const where = {
      dataset,
      column: column.origin?.column ?? column.name,
      rule: `datasets.${dataset}.columns.${column.origin?.column ?? column.name}.class = ${column.class}`,
    };
    const facts: ExprFacts = {
      aggregate: false,
      classes: new Set([column.class]),
      datasets: column.datasets,
      aggregates: [],
      bare: column,
      type: column.type,
      constant: false,
    };
    switch (column.class) {
      case 'blocked':
        this.state.refuse(
          'COLUMN_BLOCKED',
          `${shown} is blocked by its owner and can never be referenced.`,
          node,
          where,
        );
        return { ...facts, bare: undefined };
      case 'quasi':
        this.state.refuse(
          'QUASI_IDENTIFIER_NOT_ALLOWED',
          `${shown} is a quasi-identifier: it is released only through k-anonymous extracts.`,
          node,
          where,
        );
        return { ...facts, bare: undefined };
      case 'identifier':
        if (!ctx.projection)
          this.state.refuse(
            'IDENTIFIER_MISUSE',
            `${shown} is an identifier: it may only join (equality on an allowed pair), be counted (count(DISTINCT ` +
              `…)) or test membership (IN (SELECT …)); it never appears in ${ctx.place} or in output.`,
            node,
            where,
          );
        return facts;
      case 'metric':
        if (!ctx.insideAggregate && !ctx.projection)
          this.state.refuse(
            'METRIC_OUTSIDE_AGGREGATE',
            `${shown} is a metric: it may only appear inside an allowed aggregate, not in ${ctx.place}.`,
            node,
            where,
          );
        return facts;
      default:
        return facts;
    }
  }

  private functionCall(node: SqlNode, ctx: ExprContext): ExprFacts {
    const name = fold(text(node, 'function_name'));
    if (text(node, 'schema') || text(node, 'catalog')) {
      this.state.refuse(
        'FUNCTION_NOT_ALLOWED',
        `Qualified function names (${text(node, 'schema')}.${name}) are not allowed.`,
        node,
      );
      return none;
    }
    const ruleName = AGGREGATES.get(name);
    const args = children(node, 'children');
    if (!ruleName) {
      if (!SCALAR_FUNCTIONS.has(name)) {
        this.state.refuse('FUNCTION_NOT_ALLOWED', `${name}() is not on the room's function allow-list.`, node, {
          rule: 'function allow-list',
        });
        // Still report what its arguments touch: every violation, not only the first.
        args.forEach((a) => this.check(a, { ...ctx, projection: false }));
        return none;
      }
      const constantAt = CONSTANT_ARGUMENT.get(name);
      if (constantAt !== undefined && args[constantAt]?.class !== 'CONSTANT') {
        this.state.refuse(
          'FUNCTION_NOT_ALLOWED',
          `The ${constantAt === 0 ? 'part' : 'format'} argument of ${name}() must be a constant, so it is checked ` +
            `before any row is read.`,
          node,
          { rule: 'function allow-list' },
        );
      }
      const operands = args.map((a) => this.operand(a, ctx));
      const facts = this.facts(operands, UNKNOWN);
      if (ARITHMETIC.has(name) && facts.classes.size > 0 && !facts.aggregate) {
        this.state.refuse(
          'FUNCTION_NOT_ALLOWED',
          `Arithmetic (${name}) on row values is not allowed in ${ctx.place}: it can fail on one row and so reveal ` +
            `it. Compute over aggregates instead.`,
          node,
          { rule: 'function allow-list' },
        );
        return { ...facts, bare: undefined };
      }
      // round of an integer rounds as an integer on DuckDB; an executor without types is told so.
      const rounded = name === 'round' ? operands[0] : undefined;
      if (
        rounded?.facts.type.kind === 'integer' &&
        !['HUGEINT', 'UHUGEINT', 'UBIGINT'].includes(rounded.facts.type.name)
      )
        this.state.edits.push({ kind: 'typed-argument', node: rounded.node, type: 'BIGINT' });
      return { ...facts, bare: undefined, type: this.types.scalar(name, node, operands) };
    }
    if (!ctx.aggregatesAllowed || ctx.insideAggregate || ctx.projection) {
      this.state.refuse(
        'AGGREGATE_MISPLACED',
        `${name}() is not allowed in ${ctx.place}${ctx.insideAggregate ? ' (aggregates do not nest)' : ''}.`,
        node,
      );
      return none;
    }
    const orders = (node.order_bys as { orders?: unknown[] } | undefined)?.orders ?? [];
    if (orders.length > 0)
      this.state.refuse('CONSTRUCT_NOT_ALLOWED', `ORDER BY inside ${name}() is not allowed.`, node);
    const distinct = node.distinct === true;
    const rule: AggregateName = name === 'count' && distinct ? 'count_distinct' : ruleName;
    const inner: ExprContext = {
      ...ctx,
      insideAggregate: true,
      aggregatesAllowed: false,
      place: `${name}()`,
      semiJoins: undefined,
    };
    let argFacts: ExprFacts[];
    const single = args[0];
    if (name === 'count' && args.length === 1 && single?.class === 'COLUMN_REF') {
      // count(x) and count(DISTINCT x) reveal how many, never which: identifiers are fine here.
      argFacts = [this.check(single, { ...inner, projection: true })];
      const bare = argFacts[0]?.bare;
      if (bare && (bare.class === 'blocked' || bare.class === 'quasi')) argFacts = [this.check(single, inner)];
    } else {
      argFacts = args.map((a) => this.check(a, inner));
    }
    const filter = child(node, 'filter');
    if (filter) {
      this.state.refuse(
        'CONSTRUCT_NOT_ALLOWED',
        `FILTER on ${name}() would aggregate a hand-picked subset of the group, which the threshold does not ` +
          `see; filter with WHERE.`,
        node,
      );
      this.check(filter, { ...ctx, aggregatesAllowed: false, place: `FILTER of ${name}()`, semiJoins: undefined });
    }
    args.forEach((a, i) => {
      if (a.class !== 'COLUMN_REF') {
        this.state.refuse(
          'CONSTRUCT_NOT_ALLOWED',
          `${name}() takes a column, not an expression: a condition inside an aggregate can single out one person ` +
            `of a large group. Put conditions in WHERE or GROUP BY.`,
          a,
        );
        return;
      }
      // A view column computed from an expression is the same condition one level down:
      // CASE WHEN <one person> THEN year(d) ELSE 0 END, summed, is that person's year.
      const bare = argFacts[i]?.bare;
      if (bare && !bare.origin) {
        this.state.refuse(
          'CONSTRUCT_NOT_ALLOWED',
          `${name}() takes a column stored in a dataset; "${(a.column_names as string[]).join('.')}" is computed ` +
            `in a view, and a computed value can single out one person of a large group. ` +
            `Aggregate the stored column, and put conditions in WHERE or GROUP BY.`,
          a,
        );
      }
    });
    if (distinct && name !== 'count') {
      // sum(DISTINCT x) keeps one person's unusual value whole, where the dominance rule measures every row.
      this.state.refuse(
        'CONSTRUCT_NOT_ALLOWED',
        `DISTINCT is allowed only in count(DISTINCT …); ${name}(DISTINCT …) would release values whose contributions ` +
          `the room cannot measure.`,
        node,
      );
    }
    const datasets =
      name === 'count_star' || argFacts.every((f) => f.datasets.size === 0)
        ? new Set(ctx.scope.tables.flatMap((t) => [...t.datasets]))
        : new Set(argFacts.flatMap((f) => [...f.datasets]));
    for (const d of datasets) {
      const rules = this.state.collaboration.datasets.get(d)?.rules;
      if (rules && !rules.aggregates.includes(rule)) {
        this.state.refuse(
          'AGGREGATE_NOT_ALLOWED',
          `${rule} is not an aggregate the owner of ${d} allows (allowed: ${rules.aggregates.join(', ')}).`,
          node,
          { rule: `datasets.${d}.rules.aggregates`, dataset: d },
        );
      }
    }
    const merged = merge(argFacts);
    if (single && args.length === 1 && argFacts[0]) {
      const key = shapeKey(single);
      this.state.aggregateArguments.set(key, argFacts[0].datasets);
      const type = argFacts[0].type;
      (isNumeric(type) || type.kind === 'boolean' ? this.state.summable : this.state.notSummable).add(key);
    }
    const type = this.types.aggregate(
      name,
      node,
      single && argFacts[0] && args.length === 1 ? { node: single, facts: argFacts[0] } : undefined,
    );
    // median's answer depends on its argument's type, which an executor without DuckDB's types cannot see.
    const argType = argFacts[0]?.type;
    const typed = !argType
      ? undefined
      : isNumeric(argType)
        ? 'DOUBLE'
        : isTemporal(argType)
          ? 'TIMESTAMP'
          : argType.kind === 'varchar'
            ? 'VARCHAR'
            : undefined;
    if (name === 'median' && single && typed)
      this.state.edits.push({ kind: 'typed-argument', node: single, type: typed });
    return {
      aggregate: true,
      classes: merged.classes,
      datasets: merged.datasets,
      aggregates: [rule],
      type,
      constant: false,
    };
  }

  /** Only `identifier IN (SELECT identifier FROM partner …)`: a semi-join on an allowed pair. */
  private subquery(node: SqlNode, ctx: ExprContext): ExprFacts {
    const probe = child(node, 'child');
    const inner = (node.subquery as { node?: unknown } | undefined)?.node;
    if (
      text(node, 'subquery_type') !== 'ANY' ||
      text(node, 'comparison_type') !== 'COMPARE_EQUAL' ||
      probe?.class !== 'COLUMN_REF' ||
      !isNode(inner)
    ) {
      this.state.refuse(
        'SUBQUERY_NOT_ALLOWED',
        'The only subquery allowed in an expression is identifier IN (SELECT identifier FROM partner dataset ' +
          '…); scalar and EXISTS subqueries would release unthresholded values.',
        node,
      );
      return none;
    }
    if (!ctx.semiJoins) {
      this.state.refuse(
        'SUBQUERY_NOT_ALLOWED',
        `IN (SELECT …) is not allowed in ${ctx.place}; use it in WHERE, SELECT or GROUP BY, where the room counts ` +
          `the partner's people in each group.`,
        node,
      );
      return none;
    }
    const probed = resolveColumn(ctx.scope, probe.column_names as string[]);
    const view = this.relations.checkView(inner, ctx.views, 'IN subquery');
    if (!probed.ok) {
      this.state.refuse(
        'COLUMN_UNKNOWN',
        `"${(probe.column_names as string[]).join('.')}" is not a column in scope.`,
        probe,
      );
      return none;
    }
    this.state.touch(probed.column);
    const projected = view ? [...view.columns.values()] : [];
    const selected = projected[0];
    if (view && (projected.length !== 1 || selected?.class !== 'identifier')) {
      this.state.refuse('SUBQUERY_NOT_ALLOWED', 'An IN subquery must select exactly one identifier column.', inner);
    } else if (
      view &&
      selected &&
      !commonType([
        { type: probed.column.type, constant: false },
        { type: selected.type, constant: false },
      ])
    ) {
      this.state.refuse(
        'TYPE_MISMATCH',
        `IN (SELECT …) compares ${typeName(probed.column.type)} with ${typeName(selected.type)}; an implicit ` +
          `conversion could fail on one row.`,
        node,
        { rule: 'types: no implicit conversion that can fail' },
      );
    } else if (view && selected && this.relations.allowedPair(probed.column, selected, node)) {
      // The partner's people in a group are counted as the group's matched probe values, which is
      // exact only when the subquery reads one dataset and selects that dataset's privacy unit.
      const dataset = selected.origin ? this.state.collaboration.datasets.get(selected.origin.dataset) : undefined;
      if (!dataset || view.datasets.size !== 1 || selected.origin?.column !== dataset.rules.privacyUnit) {
        const unit = dataset ? ` (${dataset.name}.${dataset.rules.privacyUnit})` : '';
        this.state.refuse(
          'SUBQUERY_NOT_ALLOWED',
          `IN (SELECT …) must read one dataset and select its privacy unit${unit}, ` +
            `so the room can count that dataset's people in every group.`,
          inner,
          {
            rule: dataset ? `datasets.${dataset.name}.rules.privacyUnit` : 'rules.privacyUnit',
            ...(dataset ? { dataset: dataset.name } : {}),
          },
        );
      } else {
        const covers = new Set([
          dataset.name,
          ...view.innerUnits.flatMap((u) =>
            u.kind === 'semi-join' ? [...u.semiJoin.covers] : [...(u.unit.covers ?? [])],
          ),
        ]);
        ctx.semiJoins.push({
          dataset: dataset.name,
          membership: node,
          probe,
          probeSource: { alias: probed.table.alias, column: probed.column.name },
          covers,
        });
      }
    }
    return {
      aggregate: false,
      classes: new Set(['dimension']),
      datasets: new Set([...probed.column.datasets, ...(view?.datasets ?? [])]),
      aggregates: [],
      type: BOOLEAN,
      constant: false,
    };
  }
}
