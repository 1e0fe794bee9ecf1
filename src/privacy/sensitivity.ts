/**
 * Contribution bounds enforced by the rewritten SQL: each privacy unit reaches at most maxGroups
 * groups and at most maxRowsPerUnit rows in each group. Neighbouring databases differ by adding or
 * removing one privacy unit (all of its rows).
 */
export interface ContributionBounds {
  readonly maxGroups: number;
  readonly maxRowsPerUnit: number;
}

/** Metric clamp [lower, upper] applied row by row before aggregation. */
export interface ClampBounds {
  readonly lower: number;
  readonly upper: number;
}

/**
 * How far one privacy unit can move a per-group statistic (perGroup, an L∞ bound over the groups it
 * touches) and the whole vector of groups: L1 = maxGroups·perGroup, L2 = sqrt(maxGroups)·perGroup.
 */
export interface Sensitivity {
  readonly maxGroups: number;
  readonly perGroup: number;
  readonly l1: number;
  readonly l2: number;
}

function sensitivity(maxGroups: number, perGroup: number): Sensitivity {
  return { maxGroups, perGroup, l1: maxGroups * perGroup, l2: Math.sqrt(maxGroups) * perGroup };
}

/** COUNT(*) of bounded rows: one unit adds at most maxRowsPerUnit rows to each of maxGroups groups. */
export function countSensitivity(bounds: ContributionBounds): Sensitivity {
  return sensitivity(bounds.maxGroups, bounds.maxRowsPerUnit);
}

/** SUM of clamped metrics: each of the unit's rows moves a group's sum by at most max(|lower|, |upper|). */
export function sumSensitivity(bounds: ContributionBounds, clamp: ClampBounds): Sensitivity {
  return sensitivity(bounds.maxGroups, Math.max(Math.abs(clamp.lower), Math.abs(clamp.upper)) * bounds.maxRowsPerUnit);
}

/** COUNT(DISTINCT privacy unit): a unit is one of the distinct units of at most maxGroups groups. */
export function countDistinctUnitsSensitivity(bounds: ContributionBounds): Sensitivity {
  return sensitivity(bounds.maxGroups, 1);
}
