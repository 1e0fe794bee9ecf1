import { expect } from 'vitest';
import { RoomRequestError } from '../../../src/client/room-client.ts';
import type { Cell } from '../../../src/store/result-values.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../../support/test-room.ts';
import { seededRandomSource } from '../../support/seeded-random-source.ts';
import { DATASETS, type DatasetKey, type GeneratedQuery, type SampleRows } from './query-grammar.ts';

/** Every group a threshold query releases must stand for at least this many people of each dataset it draws on. */
const MIN_GROUP = 50;
/** The demo policy's dominance rule, which every dataset of the demo sets. */
const DOMINANCE = { topContributors: 2, maxShare: 0.85 };
/** A DP release of a group this small would need noise far past the partition-selection threshold (p < 1e-5). */
const DP_IMPLAUSIBLE = 10;

export type Outcome =
  | {
      readonly kind: 'released';
      readonly columns: readonly { name: string }[];
      readonly rows: readonly (readonly Cell[])[];
    }
  | { readonly kind: 'error'; readonly status: number; readonly code: string; readonly text: string };

export interface AttackRoom {
  readonly room: TestRoom;
  readonly data: SampleRows;
  send(query: GeneratedQuery): Promise<Outcome>;
  /** checks one outcome against the raw tables; throws (with the SQL) on any leak */
  check(query: GeneratedQuery, outcome: Outcome): Promise<void>;
  readonly stats: Record<string, number>;
  close(): Promise<void>;
}

const keyOf = (cells: readonly Cell[]): string => JSON.stringify(cells.map((c) => (c === null ? null : String(c))));
const close = (a: Cell, b: Cell): boolean =>
  typeof a === 'number' && typeof b === 'number'
    ? Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))
    : String(a) === String(b);

/**
 * A room holding the committed fixtures, with budgets large enough for thousands of DP queries and a
 * seeded random source, plus the raw values an answer must never contain.
 */
export async function openAttackRoom(): Promise<AttackRoom> {
  const room = await startTestRoom({
    edit: (policy) => {
      for (const dataset of policy.datasets)
        if (dataset.rules.dp) dataset.rules.dp.budget = { epsilon: 1000, delta: 0.0099, period: 'total' };
    },
    randomSource: seededRandomSource(20261202),
  });
  await room.acceptAll();
  for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(room, dataset);
  const data = {} as Record<DatasetKey, Record<string, Cell>[]>;
  const rawValues = new Set<string>();
  const sensitive = new Set<string>();
  for (const key of ['ac', 'pi'] as const) {
    const { table, columns } = DATASETS[key];
    const result = await room.internals.engine.query(`SELECT * FROM demo.${table}`);
    data[key] = result.rows.map((row) => Object.fromEntries(result.columns.map((c, i) => [c.name, row[i] ?? null])));
    for (const row of data[key]) {
      for (const column of columns) {
        const value = row[column.name];
        if (value === null || value === undefined) continue;
        const text = String(value);
        // Plain numbers collide with the room's own numbers in messages (limits, milliseconds).
        if (text.length >= 5 && !/^-?[\d.]+$/.test(text)) rawValues.add(text);
        if (column.cls !== 'dimension' && column.cls !== 'metric') sensitive.add(text);
      }
    }
  }
  const analyst = room.client('acme-analyst');
  const stats: Record<string, number> = {};
  const count = (name: string) => {
    stats[name] = (stats[name] ?? 0) + 1;
  };

  const send = async (query: GeneratedQuery): Promise<Outcome> => {
    try {
      const body = await analyst.send<{ columns: { name: string }[]; rows: Cell[][] }>(
        'POST',
        '/v1/collaborations/demo/queries',
        {
          sql: query.sql,
          ...(query.mode === 'dp' ? { dp: { epsilon: 0.2 } } : {}),
        },
      );
      return { kind: 'released', columns: body.columns, rows: body.rows };
    } catch (error) {
      if (!(error instanceof RoomRequestError)) throw error;
      return {
        kind: 'error',
        status: error.status,
        code: error.code,
        text: JSON.stringify({ message: error.message, details: error.details }),
      };
    }
  };

  const check = async (query: GeneratedQuery, outcome: Outcome): Promise<void> => {
    const where = `\n  SQL: ${query.sql}\n  oracle: ${query.oracle}\n  (${query.description})`;
    if (outcome.kind === 'error') {
      count(`${query.mode} ${outcome.status} ${outcome.code}`);
      const leaked = [...rawValues].filter((value) => outcome.text.includes(value) && !query.sql.includes(value));
      expect(leaked, `raw values in a ${outcome.code} answer: ${outcome.text.slice(0, 400)}${where}`).toEqual([]);
      expect(
        outcome.status === 422 && outcome.code === 'QUERY_REFUSED',
        `only a checker refusal may fail a query; got ${outcome.status} ${outcome.code}: ` +
          `${outcome.text.slice(0, 400)}${where}`,
      ).toBe(true);
      return;
    }
    count(`${query.mode} released`);
    const cells = outcome.rows.flat().filter((cell) => typeof cell === 'string' && sensitive.has(cell));
    expect(cells, `identifier, blocked or quasi values released${where}`).toEqual([]);
    if (outcome.rows.length === 0) return;
    count(`${query.mode} released groups`);
    const oracle = await room.internals.engine.query(query.oracle);
    const groups = new Map(oracle.rows.map((row) => [keyOf(row.slice(0, query.keyCount)), row]));
    // Per row unit: each group's per-person contributions to the released counts and sums.
    const dominance =
      query.mode === 'dp'
        ? []
        : await Promise.all(
            query.perPerson.map(async (p) => {
              const contributions = new Map<string, Cell[][]>();
              for (const r of (await room.internals.engine.query(p.sql)).rows) {
                const key = keyOf(r.slice(0, query.keyCount));
                contributions.set(key, [...(contributions.get(key) ?? []), r.slice(query.keyCount) as Cell[]]);
              }
              return { unit: p.unit, measures: p.measures, contributions };
            }),
          );
    for (const row of outcome.rows) {
      const group = groups.get(keyOf(row.slice(0, query.keyCount)));
      expect(
        group,
        `released group ${keyOf(row.slice(0, query.keyCount))} does not exist in the raw data${where}`,
      ).toBeDefined();
      if (!group) return;
      const people = group.slice(query.keyCount, query.keyCount + query.units.length).map(Number);
      const label = people.map((n, i) => `${query.units[i]?.dataset}:${n}`).join(', ');
      expect(people.length, `a release with no privacy unit at all${where}`).toBeGreaterThan(0);
      if (query.mode === 'dp') {
        // A global DP aggregate is always released (noised); partition selection guards keyed groups.
        if (query.keyCount === 0) continue;
        expect(Math.max(...people), `DP released a group of ${label} people${where}`).toBeGreaterThanOrEqual(
          DP_IMPLAUSIBLE,
        );
        continue;
      }
      expect(
        people.every((n) => n === 0 || n >= MIN_GROUP) && people.some((n) => n >= MIN_GROUP),
        `released group ${keyOf(row.slice(0, query.keyCount))} stands for ${label} people (each must be 0 or ` +
          `≥ ${MIN_GROUP})${where}`,
      ).toBe(true);
      for (const index of query.exactAggregates) {
        const exact = group[query.units.length + index] ?? null;
        const released = row[index] ?? null;
        const rounded = query.roundedAggregates.includes(index);
        expect(
          released === null || exact === null
            ? released === exact
            : rounded && typeof released === 'number' && typeof exact === 'number'
              ? Math.abs(released - exact) <= 0.01 + 1e-9 * Math.max(1, Math.abs(exact))
              : close(released, exact),
          `column ${index} released ${String(released)}, the raw data gives ${String(exact)}${where}`,
        ).toBe(true);
      }
      for (const check of dominance) {
        const people = check.contributions.get(keyOf(row.slice(0, query.keyCount))) ?? [];
        check.measures.forEach((measure, m) => {
          const values = people.map((p) => Math.abs(Number(p[m] ?? 0))).sort((a, b) => b - a);
          const total = values.reduce((a, b) => a + b, 0);
          const top = values.slice(0, DOMINANCE.topContributors).reduce((a, b) => a + b, 0);
          const metric = measure.metric ? ` ${measure.metric}` : '';
          expect(
            total === 0 || top <= DOMINANCE.maxShare * total * (1 + 1e-9),
            `released group ${keyOf(row.slice(0, query.keyCount))}: the top ${DOMINANCE.topContributors} people of ` +
              `${query.units[check.unit]?.dataset} give ${top} of ${total} (${measure.kind}${metric})${where}`,
          ).toBe(true);
        });
      }
    }
  };

  return { room, data, send, check, stats, close: () => room.close() };
}
