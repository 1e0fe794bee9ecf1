import type { Cell } from '../store/result-values.ts';

/** What the released rows must meet, as the room recounts them in JavaScript before they leave. */
export interface ReleaseRules {
  /** the first `quasiColumns` cells of a row are its generalised quasi-identifiers: they define its class */
  readonly quasiColumns: number;
  readonly k: number;
  /** the column holding the sensitive attribute, its l and kind */
  readonly diversity?: { readonly column: number; readonly l: number; readonly kind: 'distinct' | 'entropy' };
  /** the column holding the sensitive attribute, t, and the whole table's people per value (NULL as null) */
  readonly closeness?: { readonly column: number; readonly t: number; readonly whole: ReadonlyMap<Cell, number> };
}

/** What the recount found: the release's achieved k, l and t. */
export interface ReleaseFacts {
  readonly rows: number;
  readonly classes: number;
  /** the smallest class: the achieved k (0 when nothing is released) */
  readonly smallest: number;
  readonly diversity?: number;
  readonly closeness?: number;
  /** every way the release breaks its rules; empty when it may leave */
  readonly problems: readonly string[];
}

const histogram = (rows: readonly (readonly Cell[])[], column: number): Map<Cell, number> => {
  const counts = new Map<Cell, number>();
  for (const row of rows) {
    const value = row[column] ?? null;
    counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  return counts;
};

/**
 * Recounts a release independently of the SQL that produced it: rows grouped by their generalised
 * quasi-identifiers, every class at least k rows (one per person), l distinct non-NULL sensitive
 * values (or entropy ≥ log2 l), and within t of the whole (equal-distance EMD). The SQL chose and
 * suppressed; this decides whether the rows may leave.
 */
export function verifyRelease(rows: readonly (readonly Cell[])[], rules: ReleaseRules): ReleaseFacts {
  const classes = new Map<string, (readonly Cell[])[]>();
  for (const row of rows) {
    const key = JSON.stringify(row.slice(0, rules.quasiColumns));
    const members = classes.get(key);
    if (members) members.push(row);
    else classes.set(key, [row]);
  }
  const problems: string[] = [];
  let smallest = Number.POSITIVE_INFINITY;
  let lowest = Number.POSITIVE_INFINITY;
  let farthest = 0;
  const { diversity, closeness } = rules;
  const wholeTotal = closeness ? [...closeness.whole.values()].reduce((a, b) => a + b, 0) : 0;
  for (const members of classes.values()) {
    smallest = Math.min(smallest, members.length);
    if (members.length < rules.k) problems.push(`a class of ${members.length} people is under k = ${rules.k}`);
    if (diversity) {
      const counts = [...histogram(members, diversity.column)].filter(([v]) => v !== null).map(([, c]) => c);
      const known = counts.reduce((a, b) => a + b, 0);
      const l =
        diversity.kind === 'distinct'
          ? counts.length
          : 2 ** counts.reduce((h, c) => h - (c / known) * Math.log2(c / known), 0);
      lowest = Math.min(lowest, l);
      // A hair of tolerance for the entropy's rounding; distinct counts are exact.
      if (l < diversity.l * (diversity.kind === 'entropy' ? 1 - 1e-9 : 1))
        problems.push(`a class has ${diversity.kind} l = ${l.toFixed(3)}, under ${diversity.l}`);
    }
    if (closeness) {
      const counts = histogram(members, closeness.column);
      let distance = 0;
      for (const [value, people] of closeness.whole)
        distance += Math.abs((counts.get(value) ?? 0) / members.length - people / wholeTotal);
      for (const value of counts.keys())
        if (!closeness.whole.has(value)) distance += (counts.get(value) ?? 0) / members.length;
      distance /= 2;
      farthest = Math.max(farthest, distance);
      if (distance > closeness.t + 1e-9)
        problems.push(`a class is ${distance.toFixed(4)} from the whole, farther than t = ${closeness.t}`);
    }
  }
  const released = classes.size > 0;
  return {
    rows: rows.length,
    classes: classes.size,
    smallest: released ? smallest : 0,
    ...(diversity && released ? { diversity: lowest } : {}),
    ...(closeness && released ? { closeness: farthest } : {}),
    problems,
  };
}
