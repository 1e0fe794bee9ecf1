import {
  releaseDpGroups,
  type DpPlan,
  type ExactAggregate,
  type ExactGroup,
  type RandomSource,
} from '../privacy/index.ts';
import { evaluatePostProcessing, isAggregateCall, shapeKey } from '../query/dp-post-processing.ts';
import type { DpShape } from '../query/dp-shape.ts';
import type { Cell } from '../store/result-values.ts';
import type { DpPrivacyBlock } from './query-answer.ts';

const exact = (cell: Cell | undefined): bigint =>
  typeof cell === 'number' ? BigInt(Math.round(cell)) : BigInt(String(cell ?? 0));

/** The bounded query's rows (keys, people, each aggregate's exact value or sum and count) as exact groups. */
function toGroups(rows: readonly (readonly Cell[])[], shape: DpShape): ExactGroup<number>[] {
  return rows.map((row, key) => {
    let at = shape.groupCount + 1;
    const values: Record<string, ExactAggregate> = {};
    for (const a of shape.aggregates) {
      if (a.kind === 'avg') {
        values[a.alias] = { sumSteps: exact(row[at]), count: exact(row[at + 1]) };
        at += 2;
      } else {
        values[a.alias] = exact(row[at]);
        at += 1;
      }
    }
    return { key, privacyUnits: Number(row[shape.groupCount] ?? 0), values };
  });
}

/** Released rows in a fixed order, so their order says nothing about the data. */
const compareCells = (a: readonly Cell[], b: readonly Cell[]): number => {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? null;
    const y = b[i] ?? null;
    if (x === y) continue;
    if (x === null) return -1;
    if (y === null) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
};

/**
 * Partition selection and noise from the room's random source (the CSPRNG outside tests); group
 * keys are read back from the rows that survive, and each output is evaluated over the noisy
 * aggregates (post-processing). Rows come sorted, capped at `limit`.
 */
export function noisyGroups(
  plan: DpPlan,
  rows: readonly (readonly Cell[])[],
  shape: DpShape,
  random: RandomSource,
  limit: number,
): { rows: Cell[][]; suppressed: number } {
  // Noise is drawn group by group in the order of the group keys, not in the order the engine
  // answered (which varies with threads, and between executors): the same random stream gives
  // the same release whichever executor ran the query.
  const ordered = [...rows].sort((a, b) => compareCells(a.slice(0, shape.groupCount), b.slice(0, shape.groupCount)));
  const release = releaseDpGroups(plan, toGroups(ordered, shape), random);
  const out = release.groups.map((g) =>
    shape.outputs.map((o) => {
      if (o.kind === 'group') return ordered[g.key]?.[o.index] ?? null;
      const value = evaluatePostProcessing(o.expression, (aggregate) => {
        const alias = shape.aggregates[shape.aggregateKeys.indexOf(shapeKey(aggregate))]?.alias ?? '';
        return g.values[alias] ?? Number.NaN;
      });
      return Number.isFinite(value) ? value : null;
    }),
  );
  return { rows: out.sort(compareCells).slice(0, limit), suppressed: release.suppressedCount };
}

/** Per released column: its noise scale and 95% interval, or, for arithmetic over noisy values, what it is made of. */
export function noiseReport(plan: DpPlan, shape: DpShape): DpPrivacyBlock['noise'] {
  const noise: Record<string, { scale: number; ci95HalfWidth: number | null; note?: string }> = {};
  const label = (i: number) => {
    const a = shape.aggregates[i];
    return a?.kind === 'count'
      ? 'count(*)'
      : a?.kind === 'count_distinct_units'
        ? 'count(DISTINCT unit)'
        : `${a?.kind}(${a?.metric?.column ?? ''})`;
  };
  const spec = (i: number) => {
    const a = plan.aggregates[i];
    return a ? (a.kind === 'avg' ? a.sumNoise : a.noise) : undefined;
  };
  for (const o of shape.outputs) {
    if (o.kind !== 'value') continue;
    const first = o.aggregates[0];
    const bare =
      o.aggregates.length === 1 &&
      first !== undefined &&
      o.expression.class === 'FUNCTION' &&
      isAggregateCall(o.expression);
    if (bare && plan.aggregates[first]?.kind !== 'avg')
      noise[o.name] = { scale: spec(first)?.scale ?? 0, ci95HalfWidth: spec(first)?.ci95HalfWidth ?? null };
    else {
      const parts = o.aggregates.map((i) => `${label(i)} ±${(spec(i)?.ci95HalfWidth ?? 0).toPrecision(3)}`);
      const average = o.aggregates.some((i) => plan.aggregates[i]?.kind === 'avg')
        ? '; an average is a noisy sum of (value - centre) over a noisy count'
        : '';
      noise[o.name] = {
        scale: Math.max(0, ...o.aggregates.map((i) => spec(i)?.scale ?? 0)),
        ci95HalfWidth: null,
        note: `post-processing of noisy ${parts.join(', ')} (95% half-widths${average})`,
      };
    }
  }
  return noise;
}
