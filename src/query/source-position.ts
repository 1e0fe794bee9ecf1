import type { SourcePosition } from '../errors/diagnostic.ts';

const INVALID_LOCATION = 2 ** 53;

/** Turns DuckDB's character offset into line and column (1-based) for a person to find. */
export function positionOf(sql: string, offset: unknown): SourcePosition | undefined {
  if (typeof offset !== 'number' || offset < 0 || offset >= INVALID_LOCATION || offset > sql.length) return undefined;
  const before = sql.slice(0, offset);
  const line = before.split('\n').length;
  return { offset, line, column: offset - before.lastIndexOf('\n') };
}
