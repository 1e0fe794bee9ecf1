import type { Cell } from '../store/result-values.ts';

export interface ReleasedGroups {
  readonly rows: readonly (readonly Cell[])[];
  readonly suppressed: number;
  readonly truncated: boolean;
}

/**
 * Keeps a group only if it covers at least `minGroupSize` people of some dataset and, for every
 * dataset that contributes to it at all, at least that many of that dataset's people. Reports how
 * many groups were dropped, never which. Then applies LIMIT and the owners' row cap.
 */
export function releaseGroups(rows: readonly (readonly Cell[])[], outputCount: number, minGroupSize: number, limit: number): ReleasedGroups {
  const kept: Cell[][] = [];
  let suppressed = 0;
  for (const row of rows) {
    const units = row.slice(outputCount).map((v) => Number(v ?? 0));
    const enough = units.some((n) => n >= minGroupSize) && units.every((n) => n === 0 || n >= minGroupSize);
    if (enough) kept.push(row.slice(0, outputCount) as Cell[]);
    else suppressed += 1;
  }
  return { rows: kept.slice(0, limit), suppressed, truncated: kept.length > limit };
}
