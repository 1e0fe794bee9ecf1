import type { CheckerState } from './checker-state.ts';
import type { ExprFacts } from './expression-facts.ts';
import type { SqlNode } from './sql-tree.ts';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  HUGEINT,
  TIMESTAMP,
  VARCHAR,
  castTarget,
  commonType,
  integer,
  isNumeric,
  isTemporal,
  isText,
  literalSpells,
  typeName,
  type SqlType,
} from './sql-types.ts';

/** An expression already checked, with what the checker learned about it. */
export interface Operand {
  readonly node: SqlNode;
  readonly facts: ExprFacts;
}

const permissive = (t: SqlType): boolean => t.kind === 'unknown' || t.kind === 'null';

/**
 * The type rules: which values may meet, what functions and aggregates accept and return. Each
 * refusal is a TYPE_MISMATCH diagnostic at the expression; each quoted literal meeting a typed
 * value is cast explicitly (TRY_CAST), so no implicit cast that can fail reaches DuckDB.
 */
export class TypeRules {
  constructor(private readonly state: CheckerState) {}

  /** Values that meet (compared, IN, BETWEEN, CASE branches, COALESCE): their common type. */
  meet(operands: readonly Operand[], at: SqlNode, what: string): SqlType {
    const common = commonType(operands.map((o) => ({ type: o.facts.type, constant: o.facts.constant })));
    if (!common) {
      const shown = [...new Set(operands.map((o) => typeName(o.facts.type)))].join(' and ');
      this.refuse(
        `${what} mixes ${shown}; DuckDB would convert between them implicitly, and a conversion that fails on ` +
          `one row reveals it. Compare values of one type, or convert explicitly with CAST (it becomes TRY_CAST).`,
        at,
      );
      return { kind: 'unknown' };
    }
    for (const operand of operands) this.castLiteral(operand, common);
    return common;
  }

  /** A value that must be of one kind (a function argument): casts a literal to `target`, refuses other types. */
  require(operand: Operand, accepts: (t: SqlType) => boolean, target: SqlType, what: string): void {
    const type = operand.facts.type;
    if (permissive(type)) return;
    if (type.kind === 'string-literal' && target.kind !== 'varchar') {
      this.castLiteral(operand, target);
      return;
    }
    if (!accepts(type)) this.refuse(`${what} takes ${typeName(target)}, not ${typeName(type)}.`, operand.node);
  }

  /**
   * WHERE, HAVING, ON, WHEN, NOT, AND and OR take TRUE/FALSE: anything else is converted to BOOLEAN, which can fail.
   */
  condition(operand: Operand, place: string): void {
    const type = operand.facts.type;
    if (permissive(type) || type.kind === 'boolean') return;
    this.refuse(
      `${place} needs a condition (TRUE or FALSE), not ${typeName(type)}: DuckDB would convert it to BOOLEAN, ` +
        `which fails on some values.`,
      operand.node,
    );
  }

  /** The result type of an allowed scalar function, after checking its arguments. */
  scalar(name: string, node: SqlNode, args: readonly Operand[]): SqlType {
    const text = (i: number) => args[i] && this.require(args[i], isText, VARCHAR, `${name}()`);
    const temporal = (i: number) => args[i] && this.require(args[i], isTemporal, { kind: 'date' }, `${name}()`);
    const numeric = (i: number) => args[i] && this.require(args[i], isNumeric, DOUBLE, `${name}()`);
    switch (name) {
      case 'lower':
      case 'upper':
      case 'trim':
      case 'ltrim':
      case 'rtrim':
      case 'replace':
        args.forEach((_, i) => text(i));
        return VARCHAR;
      case 'length':
        text(0);
        return BIGINT;
      case 'starts_with':
      case 'contains':
      case '~~':
      case '!~~':
      case '~~*':
      case '!~~*':
        args.forEach((_, i) => text(i));
        return BOOLEAN;
      case 'concat':
      case '||':
        // Every type converts to VARCHAR without failing.
        return VARCHAR;
      case 'date_trunc':
        temporal(1);
        return TIMESTAMP;
      case 'date_part':
      case 'datepart':
        temporal(1);
        return BIGINT;
      case 'year':
      case 'month':
      case 'day':
      case 'quarter':
      case 'week':
      case 'dayofweek':
      case 'isodow':
        temporal(0);
        return BIGINT;
      case 'strftime':
        temporal(0);
        return VARCHAR;
      case 'list_contains': {
        const list = args[0]?.facts.type;
        if (list && list.kind !== 'list' && !permissive(list)) {
          this.refuse(`list_contains() takes a list (a template's list parameter) first, not ${typeName(list)}.`, node);
        } else if (list?.kind === 'list' && args[1]) {
          const items = args[0] as Operand;
          this.meet(
            [{ node: items.node, facts: { ...items.facts, type: list.item } }, args[1]],
            node,
            'list_contains()',
          );
        }
        return BOOLEAN;
      }
      case 'round': {
        numeric(0);
        const digits = args[1];
        if (digits && !(digits.node.class === 'CONSTANT' && digits.facts.type.kind === 'integer')) {
          this.refuse('The second argument of round() must be a whole-number constant.', digits.node);
        }
        return this.numericResult(args[0]);
      }
      case 'floor':
      case 'ceil':
      case 'ceiling':
        numeric(0);
        return args[0]?.facts.type.kind === 'decimal' ? args[0].facts.type : DOUBLE;
      case 'sign':
        numeric(0);
        return integer('TINYINT');
      case 'ifnull':
        return this.meet(args, node, 'ifnull()');
      default:
        return this.arithmetic(name, node, args);
    }
  }

  /**
   * + - * / // %: only over aggregates (which the rewriter makes DOUBLE) and constants. Integer and
   * DECIMAL arithmetic can overflow, and the error would depend on the values, so one operand must
   * be a DOUBLE (an aggregate, or a literal such as 1e3); a lone minus before a constant is fine.
   */
  private arithmetic(name: string, node: SqlNode, args: readonly Operand[]): SqlType {
    for (const [i] of args.entries()) this.require(args[i] as Operand, isNumeric, DOUBLE, `${name}`);
    const types = args.map((a) => a.facts.type);
    if (types.some(permissive) || types.some((t) => t.kind === 'double')) return DOUBLE;
    if (name === '-' && args.length === 1 && args[0]?.node.class === 'CONSTANT') return types[0] ?? DOUBLE;
    this.refuse(
      `Arithmetic (${name}) between ${types.map(typeName).join(' and ')} can overflow; use it over aggregates, ` +
        `or write a DOUBLE constant (e.g. 100e0).`,
      node,
    );
    return { kind: 'unknown' };
  }

  /** The result type of an allowed aggregate over an argument of type `arg` (undefined for count(*)). */
  aggregate(name: string, node: SqlNode, arg: Operand | undefined): SqlType {
    const type = arg?.facts.type;
    const need = (accepts: (t: SqlType) => boolean, target: SqlType) =>
      arg && this.require(arg, accepts, target, `${name}()`);
    switch (name) {
      case 'count_star':
      case 'count':
        return BIGINT;
      case 'sum':
        need((t) => isNumeric(t) || t.kind === 'boolean', DOUBLE);
        return type?.kind === 'double'
          ? DOUBLE
          : type?.kind === 'decimal'
            ? { kind: 'decimal', width: 38, scale: type.scale }
            : HUGEINT;
      case 'avg':
      case 'mean':
        need((t) => isNumeric(t) || isTemporal(t), DOUBLE);
        return type && isTemporal(type) ? TIMESTAMP : DOUBLE;
      case 'median':
        need((t) => isNumeric(t) || isTemporal(t) || t.kind === 'varchar', DOUBLE);
        return type && isTemporal(type) ? TIMESTAMP : type?.kind === 'varchar' ? VARCHAR : DOUBLE;
      case 'min':
      case 'max':
        need((t) => t.kind !== 'list' && t.kind !== 'other', DOUBLE);
        return type ?? { kind: 'unknown' };
      default:
        need(isNumeric, DOUBLE);
        return DOUBLE;
    }
  }

  private numericResult(arg: Operand | undefined): SqlType {
    const type = arg?.facts.type;
    return type && (type.kind === 'integer' || type.kind === 'decimal') ? type : DOUBLE;
  }

  /** A quoted literal that meets a typed value: refuse it if it plainly is not one, else cast it explicitly. */
  private castLiteral(operand: Operand, target: SqlType): void {
    const type = operand.facts.type;
    if (
      type.kind !== 'string-literal' ||
      target.kind === 'varchar' ||
      target.kind === 'string-literal' ||
      permissive(target)
    )
      return;
    if (!literalSpells(type.value, target)) {
      const hint = target.kind === 'date' ? " (write dates as 'YYYY-MM-DD')" : '';
      this.refuse(`'${type.value}' is not a ${typeName(target)}${hint}.`, operand.node);
      return;
    }
    this.state.edits.push({ kind: 'cast-literal', node: operand.node, type: castTarget(target) });
  }

  private refuse(message: string, at: SqlNode): void {
    this.state.refuse('TYPE_MISMATCH', message, at, { rule: 'types: no implicit conversion that can fail' });
  }
}
