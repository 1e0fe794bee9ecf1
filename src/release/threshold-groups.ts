import type { Cell } from '../store/result-values.ts';

export interface ReleasedGroups {
  readonly rows: readonly (readonly Cell[])[];
  readonly suppressed: number;
  readonly truncated: boolean;
}

/**
 * Keeps the groups the SQL marked as passing the threshold (its last column: at least
 * `minGroupSize` people of some dataset, and of every dataset that contributes at all), in order.
 * Reports how many groups were dropped, never which. Then applies LIMIT and the owners' row cap.
 */
export function releaseGroups(rows: readonly (readonly Cell[])[], outputCount: number, limit: number): ReleasedGroups {
  const kept: Cell[][] = [];
  let suppressed = 0;
  for (const row of rows) {
    if (row[outputCount] === true) kept.push(row.slice(0, outputCount) as Cell[]);
    else suppressed += 1;
  }
  return { rows: kept.slice(0, limit), suppressed, truncated: kept.length > limit };
}
