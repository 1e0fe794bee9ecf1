import { AGGREGATES } from './allowed-functions.ts';
import { child, children, constantNumber, fold, text, type SqlNode } from './sql-tree.ts';

const STRIP = new Set(['alias', 'query_location']);

/** A structural key for a subtree: two spellings of the same aggregate share one noisy value. */
export const shapeKey = (node: SqlNode): string =>
  JSON.stringify(node, (key, value: unknown) => (STRIP.has(key) ? undefined : value));

export const isAggregateCall = (node: SqlNode): boolean =>
  node.class === 'FUNCTION' && AGGREGATES.has(fold(text(node, 'function_name')));

const NUMERIC_CASTS = new Set(['DOUBLE', 'FLOAT', 'DECIMAL', 'INTEGER', 'BIGINT', 'HUGEINT', 'SMALLINT']);
const OPERATORS = new Set(['+', '-', '*', '/']);

/**
 * Checks that an output is arithmetic over aggregates that the DP release computes: +, -, *, /,
 * round() and numeric casts over aggregates and numeric constants. Everything computed from
 * noisy values is post-processing and costs no privacy; returns what is not allowed, or nothing.
 */
export function postProcessingProblem(node: SqlNode, onAggregate: (aggregate: SqlNode) => void): SqlNode | undefined {
  if (isAggregateCall(node)) {
    onAggregate(node);
    return undefined;
  }
  if (node.class === 'CONSTANT') return typeof child(node, 'value')?.value === 'number' ? undefined : node;
  if (node.class === 'CAST') {
    const type = (node.cast_type as { id?: string } | undefined)?.id ?? '';
    const inner = child(node, 'child');
    return NUMERIC_CASTS.has(type) && inner ? postProcessingProblem(inner, onAggregate) : node;
  }
  if (node.class === 'FUNCTION') {
    const name = fold(text(node, 'function_name'));
    const args = children(node, 'children');
    const shapeOk =
      (OPERATORS.has(name) && (args.length === 2 || (name === '-' && args.length === 1))) ||
      (name === 'round' && args.length >= 1 && args.length <= 2);
    if (!shapeOk) return node;
    for (const a of args) {
      const problem = postProcessingProblem(a, onAggregate);
      if (problem) return problem;
    }
    return undefined;
  }
  return node;
}

/** Evaluates a checked output expression over the released noisy aggregate values. */
export function evaluatePostProcessing(node: SqlNode, valueOf: (aggregate: SqlNode) => number): number {
  if (isAggregateCall(node)) return valueOf(node);
  if (node.class === 'CONSTANT') return constantNumber(node) ?? Number.NaN;
  if (node.class === 'CAST') {
    const inner = evaluatePostProcessing(child(node, 'child') as SqlNode, valueOf);
    const type = (node.cast_type as { id?: string } | undefined)?.id ?? '';
    return ['INTEGER', 'BIGINT', 'HUGEINT', 'SMALLINT'].includes(type) ? Math.round(inner) : inner;
  }
  const name = fold(text(node, 'function_name'));
  const args = children(node, 'children').map((a) => evaluatePostProcessing(a, valueOf));
  const [a = 0, b = 0] = args;
  switch (name) {
    case '+':
      return a + b;
    case '-':
      return args.length === 1 ? -a : a - b;
    case '*':
      return a * b;
    case '/':
      return b === 0 ? Number.NaN : a / b;
    default: {
      const factor = 10 ** Math.trunc(b);
      return Math.round(a * factor) / factor;
    }
  }
}

/** Whether any aggregate call appears anywhere below a node. */
export function containsAggregate(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(containsAggregate);
  if (typeof node !== 'object' || node === null) return false;
  if (isAggregateCall(node as SqlNode)) return true;
  return Object.values(node).some(containsAggregate);
}
