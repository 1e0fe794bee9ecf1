/**
 * A grammar of the query language the checker allows (and of near misses), for generated attacks.
 * Every generated query comes in two renderings built in one pass over the same choices:
 * - `sql`: what a hostile analyst sends, over the demo datasets as the room names them;
 * - `oracle`: the same FROM, WHERE and grouping over the raw tables (`demo.*`), where every view
 *   also carries each dataset's privacy unit under a name of our own, so the test can count, for
 *   every group, the distinct people of every dataset the query reads, independently of the room.
 * People of a dataset read through `x IN (SELECT unit FROM d …)` are the distinct matched values
 * of x in the group (the same persons, since the pair joins on d's privacy unit).
 */
import fc from 'fast-check';
import type { Cell } from '../../../src/store/result-values.ts';

export type DatasetKey = 'ac' | 'pi';
type Class = 'identifier' | 'dimension' | 'metric' | 'quasi' | 'blocked';
type Type = 'VARCHAR' | 'DATE' | 'INTEGER' | 'DOUBLE';

interface DeclaredColumn {
  readonly name: string;
  readonly cls: Class;
  readonly type: Type;
}

export const DATASETS: Record<DatasetKey, { readonly table: string; readonly columns: readonly DeclaredColumn[] }> = {
  ac: {
    table: 'advertiser_customers',
    columns: [
      { name: 'email_hash', cls: 'identifier', type: 'VARCHAR' },
      { name: 'phone', cls: 'blocked', type: 'VARCHAR' },
      { name: 'age_band', cls: 'dimension', type: 'VARCHAR' },
      { name: 'country', cls: 'dimension', type: 'VARCHAR' },
      { name: 'loyalty_tier', cls: 'dimension', type: 'VARCHAR' },
      { name: 'signup_date', cls: 'dimension', type: 'DATE' },
      { name: 'zip_code', cls: 'quasi', type: 'VARCHAR' },
      { name: 'birth_year', cls: 'quasi', type: 'INTEGER' },
      { name: 'purchases', cls: 'metric', type: 'INTEGER' },
      { name: 'purchase_value', cls: 'metric', type: 'DOUBLE' },
      { name: 'converted', cls: 'metric', type: 'INTEGER' },
    ],
  },
  pi: {
    table: 'publisher_impressions',
    columns: [
      { name: 'email_hash', cls: 'identifier', type: 'VARCHAR' },
      { name: 'ip_address', cls: 'blocked', type: 'VARCHAR' },
      { name: 'impression_date', cls: 'dimension', type: 'DATE' },
      { name: 'campaign', cls: 'dimension', type: 'VARCHAR' },
      { name: 'segment', cls: 'dimension', type: 'VARCHAR' },
      { name: 'device', cls: 'dimension', type: 'VARCHAR' },
      { name: 'clicks', cls: 'metric', type: 'INTEGER' },
      { name: 'view_seconds', cls: 'metric', type: 'DOUBLE' },
    ],
  },
};

/** Raw rows of each dataset, so filters can pin real (small) groups. */
export type SampleRows = Record<DatasetKey, readonly Record<string, Cell>[]>;

/** Text in both renderings. */
interface Dual {
  readonly a: string;
  readonly o: string;
}
const same = (text: string): Dual => ({ a: text, o: text });
const join = (parts: readonly Dual[], sep: string): Dual => ({
  a: parts.map((p) => p.a).join(sep),
  o: parts.map((p) => p.o).join(sep),
});
const wrap = (before: string, inner: Dual, after: string): Dual => ({
  a: `${before}${inner.a}${after}`,
  o: `${before}${inner.o}${after}`,
});

interface Column {
  readonly ref: Dual;
  readonly name: string;
  readonly dataset: DatasetKey;
  readonly source: string;
  readonly cls: Class;
  readonly type: Type;
  /** computed in a view from an expression (a condition can hide inside it) */
  readonly computed?: boolean;
}

/**
 * A privacy unit in scope: its dataset and an oracle expression giving the unit (or NULL). A
 * semi-join's people contribute membership, not rows, so only row units take part in dominance.
 */
export interface Unit {
  readonly dataset: DatasetKey;
  readonly expr: string;
  readonly semi?: boolean;
}

/** A count or sum the query releases, as the dominance rule measures it per person. */
export interface Measure {
  readonly kind: 'rows' | 'sum';
  readonly metric?: string;
  readonly dataset?: DatasetKey;
}

interface Relation {
  readonly from: Dual;
  readonly columns: readonly Column[];
  readonly units: readonly Unit[];
  readonly datasets: ReadonlySet<DatasetKey>;
  readonly isJoin?: boolean;
}

export interface GeneratedQuery {
  readonly sql: string;
  readonly mode: 'threshold' | 'dp';
  /** oracle over the raw tables: key cells, then one people count per unit, then the exact aggregates */
  readonly oracle: string;
  readonly keyCount: number;
  readonly units: readonly Unit[];
  /** released aggregate columns whose exact value the oracle computes (by output index) */
  readonly exactAggregates: readonly number[];
  /**
   * of those, the ones the query rounds to 2 decimals: a floating-point sum added up in another order
   * (per person first, then per group) can land on the other side of a rounding boundary, so they may
   * differ by one unit in the last place
   */
  readonly roundedAggregates: readonly number[];
  readonly description: string;
  /** the counts and sums the query releases, for the dominance check */
  readonly measures: readonly Measure[];
  /** one oracle per row unit: key cells, then per measure the person's contribution, grouped by keys and that person */
  readonly perPerson: readonly { readonly unit: number; readonly sql: string; readonly measures: readonly Measure[] }[];
}

const quote = (value: string): string => `'${value.replaceAll("'", "''")}'`;

/** A thin layer over fast-check's generator so the grammar reads as plain choices (and still shrinks). */
class Chooser {
  private counter = 0;
  constructor(private readonly g: fc.GeneratorValue) {}
  int(min: number, max: number): number {
    // Unbiased: fast-check leans integers towards their bounds, which would skew every choice.
    return this.g((low: number, high: number) => fc.noBias(fc.integer({ min: low, max: high })), min, max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)] as T;
  }
  chance(p: number): boolean {
    return this.int(0, 999) < p * 1000;
  }
  fresh(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.counter}`;
  }
}

interface Context {
  readonly c: Chooser;
  readonly data: SampleRows;
  readonly ctes: Dual[];
  readonly mode: 'threshold' | 'dp';
  /** a wide query filters on broad ranges and groups by few values; an attack pins people */
  readonly wide: boolean;
}

/** Dimensions with a handful of values: groups over them are large enough to release. */
const COARSE = new Set(['age_band', 'country', 'loyalty_tier', 'campaign', 'segment', 'device']);

const literal = (value: Cell, type: Type, c: Chooser): Dual => {
  if (value === null) return same('NULL');
  if (type === 'DATE') return same(c.chance(0.5) ? `DATE ${quote(String(value))}` : quote(String(value)));
  if (type === 'VARCHAR') return same(quote(String(value)));
  return same(String(value));
};

/** A real row's value for a column, so equality filters pin real people. */
function sampleValue(ctx: Context, column: Column): Cell {
  const rows = ctx.data[column.dataset];
  return rows[ctx.c.int(0, rows.length - 1)]?.[column.source] ?? null;
}

const dims = (columns: readonly Column[], type?: Type) =>
  columns.filter((col) => col.cls === 'dimension' && (!type || col.type === type));

/** A boolean filter over `scope`; semi-joins it contains add their people to `units`. */
function filter(ctx: Context, scope: readonly Column[], depth: number, units: Unit[]): Dual {
  const { c } = ctx;
  const dimensions = dims(scope);
  const kind = ctx.wide
    ? c.pick(['in', 'neq', 'date', 'like', 'null', 'and', 'or', 'semi', 'semi', 'eq'])
    : c.pick([
        'pin',
        'pin',
        'pin',
        'eq',
        'eq',
        'in',
        'neq',
        'date',
        'like',
        'null',
        'not',
        'and',
        'and',
        'or',
        'semi',
        'semi',
        'semi',
        'hazard',
        'class',
      ]);
  const anyDim = () => c.pick(dimensions);
  if (dimensions.length === 0 && !['semi', 'hazard', 'class'].includes(kind)) return same('TRUE');
  switch (kind) {
    case 'pin': {
      // Several dimensions of one real row: often a group of one person.
      const dataset = anyDim().dataset;
      const own = dimensions.filter((col) => col.dataset === dataset);
      const row = ctx.data[dataset][c.int(0, ctx.data[dataset].length - 1)] ?? {};
      const chosen = own.filter(() => c.chance(0.7));
      if (chosen.length === 0) chosen.push(own[0] as Column);
      return wrap(
        '(',
        join(
          chosen.map((col) => join([col.ref, same(' = '), literal(row[col.source] ?? null, col.type, c)], '')),
          ' AND ',
        ),
        ')',
      );
    }
    case 'eq': {
      const col = anyDim();
      return join([col.ref, same(' = '), literal(sampleValue(ctx, col), col.type, c)], '');
    }
    case 'in': {
      const col = anyDim();
      return join(
        [
          col.ref,
          same(' IN ('),
          join([literal(sampleValue(ctx, col), col.type, c), literal(sampleValue(ctx, col), col.type, c)], ', '),
          same(')'),
        ],
        '',
      );
    }
    case 'neq': {
      const col = anyDim();
      return join([col.ref, same(' <> '), literal(sampleValue(ctx, col), col.type, c)], '');
    }
    case 'date': {
      const dates = dims(scope, 'DATE');
      if (dates.length === 0) return same('TRUE');
      const col = c.pick(dates);
      const a = literal(sampleValue(ctx, col), 'DATE', c);
      return c.chance(0.5)
        ? join([col.ref, same(` ${c.pick(['>=', '<', '<=', '>'])} `), a], '')
        : join([col.ref, same(' BETWEEN '), a, same(' AND '), literal(sampleValue(ctx, col), 'DATE', c)], '');
    }
    case 'like': {
      const text = dims(scope, 'VARCHAR');
      if (text.length === 0) return same('TRUE');
      const col = c.pick(text);
      const value = String(sampleValue(ctx, col) ?? 'x');
      return join(
        [col.ref, same(` ${c.pick(['LIKE', 'NOT LIKE', 'ILIKE'])} ${quote(`${value.slice(0, c.int(1, 3))}%`)}`)],
        '',
      );
    }
    case 'null':
      return join([anyDim().ref, same(c.chance(0.5) ? ' IS NULL' : ' IS NOT NULL')], '');
    case 'not':
      return depth > 0 ? wrap('NOT (', filter(ctx, scope, depth - 1, units), ')') : same('TRUE');
    case 'and':
    case 'or':
      return depth > 0
        ? wrap(
            '(',
            join(
              [filter(ctx, scope, depth - 1, units), filter(ctx, scope, depth - 1, units)],
              ` ${kind.toUpperCase()} `,
            ),
            ')',
          )
        : same('TRUE');
    case 'semi':
      return semiJoin(ctx, scope, depth, units);
    case 'hazard':
      return hazard(ctx, scope);
    default:
      return classMisuse(ctx, scope);
  }
}

/** `id [NOT] IN (SELECT unit FROM partner …)`: the one allowed subquery, here pinning small sets. */
function semiJoin(ctx: Context, scope: readonly Column[], depth: number, units: Unit[]): Dual {
  const { c } = ctx;
  const ids = scope.filter((col) => col.cls === 'identifier');
  if (ids.length === 0) return same('TRUE');
  const probe = c.pick(ids);
  const partner: DatasetKey = c.chance(0.9) ? (probe.dataset === 'ac' ? 'pi' : 'ac') : probe.dataset;
  const inner = relation(ctx, partner, Math.min(depth, 2), true);
  const unitColumn = inner.columns.find(
    (col) => col.cls === 'identifier' && col.source === 'email_hash' && col.dataset === partner,
  );
  const selected = unitColumn ?? c.pick(inner.columns);
  const nested: Unit[] = [];
  const where = c.chance(0.8) ? wrap(' WHERE ', filter(ctx, inner.columns, depth - 1, nested), '') : same('');
  const sub = join([same('SELECT '), selected.ref, same(' FROM '), inner.from, where], '');
  const negated = c.chance(0.25);
  const text = join([probe.ref, same(negated ? ' NOT IN (' : ' IN ('), sub, same(')')], '');
  // The partner's people in a group: the group's distinct probe values that matched (nested
  // semi-joins inside match the same persons, so they are counted by the same expression).
  units.push({ dataset: partner, expr: `CASE WHEN ${probe.ref.o} IN (${sub.o}) THEN ${probe.ref.o} END`, semi: true });
  return text;
}

/** Implicit casts that fail on some rows: each must be refused or made harmless before running. */
function hazard(ctx: Context, scope: readonly Column[]): Dual {
  const { c } = ctx;
  const text = dims(scope, 'VARCHAR');
  const dates = dims(scope, 'DATE');
  const any = dims(scope);
  if (text.length === 0 || any.length === 0) return same('TRUE');
  const t = c.pick(text);
  const pinned = () => join([t.ref, same(' = '), literal(sampleValue(ctx, t), 'VARCHAR', c)], '');
  const options: (() => Dual)[] = [
    () => join([t.ref, same(' = 1')], ''),
    () => join([t.ref, same(' IN (1, 2)')], ''),
    () => join([t.ref, same(' = TRUE')], ''),
    () => join([t.ref, same(' BETWEEN 1 AND 5')], ''),
    () => join([same('NOT '), t.ref], ''),
    () => join([t.ref, same(' AND TRUE')], ''),
    () =>
      join([same('CASE WHEN '), pinned(), same(" THEN concat('''', "), t.ref, same(", '|') = 1 ELSE FALSE END")], ''),
    () =>
      join(
        [
          same('CASE WHEN '),
          pinned(),
          { a: ' THEN CAST(', o: ' THEN TRY_CAST(' },
          t.ref,
          same(' AS INTEGER) = 1 ELSE FALSE END'),
        ],
        '',
      ),
    () => join([same('CASE WHEN '), pinned(), same(' THEN '), t.ref, same(' ELSE 1 END = 1')], ''),
    () => join([same('coalesce('), t.ref, same(', 1) = 1')], ''),
    () => join([same('ifnull('), t.ref, same(', 0) = 0')], ''),
    () => join([same('nullif('), t.ref, same(', 3) IS NULL')], ''),
    () => join([same('round('), t.ref, same(') = 1')], ''),
    () => join([same('year('), t.ref, same(') = 2024')], ''),
    () => join([same('length('), t.ref, same(") = '3'")], ''),
    () => join([same('list_contains([1, 2], '), t.ref, same(')')], ''),
  ];
  if (dates.length > 0) {
    const d = c.pick(dates);
    options.push(
      () => join([d.ref, same(' = '), t.ref], ''),
      () => join([same('nullif('), d.ref, same(', '), t.ref, same(') IS NULL')], ''),
      () =>
        join(
          [
            same('CASE WHEN '),
            pinned(),
            same(' THEN '),
            d.ref,
            { a: " = 'garbage'", o: " = TRY_CAST('garbage' AS DATE)" },
            same(' ELSE FALSE END'),
          ],
          '',
        ),
      () =>
        join(
          [
            d.ref,
            { a: " BETWEEN '2024-01-01' AND 'zzz'", o: " BETWEEN DATE '2024-01-01' AND TRY_CAST('zzz' AS DATE)" },
          ],
          '',
        ),
      () => join([same('coalesce('), d.ref, same(', '), t.ref, same(') IS NULL')], ''),
      () => join([d.ref, same(' IN ('), t.ref, same(')')], ''),
      () => join([same('strftime('), t.ref, same(", '%Y') = '2024'")], ''),
    );
  }
  return c.pick(options)();
}

/** Column classes where they do not belong: identifiers, metrics, blocked and quasi columns. */
function classMisuse(ctx: Context, scope: readonly Column[]): Dual {
  const { c } = ctx;
  const col = c.pick(scope);
  const value = sampleValue(ctx, col);
  return join([col.ref, same(' = '), literal(value, col.type, c)], '');
}

/** A FROM item: a dataset, a view (CTE or subquery) over a relation, or a join of two relations. */
function relation(ctx: Context, only: DatasetKey | undefined, depth: number, forSemiJoin = false): Relation {
  const { c } = ctx;
  const kind =
    depth <= 0
      ? 'table'
      : c.pick(forSemiJoin || only ? ['table', 'view', 'view'] : ['table', 'view', 'view', 'join', 'join']);
  if (kind === 'table') return table(ctx, only ?? c.pick(['ac', 'pi'] as const));
  if (kind === 'view') return view(ctx, relation(ctx, only, depth - 1, forSemiJoin), depth);
  return joinRelations(ctx, depth);
}

function table(ctx: Context, dataset: DatasetKey): Relation {
  const alias = ctx.c.fresh('t');
  const { table: name, columns } = DATASETS[dataset];
  return {
    from: { a: `${name} AS ${alias}`, o: `demo.${name} AS ${alias}` },
    columns: columns.map((col) => ({
      ref: same(`${alias}.${col.name}`),
      name: col.name,
      dataset,
      source: col.name,
      cls: col.cls,
      type: col.type,
    })),
    units: [{ dataset, expr: `${alias}.email_hash` }],
    datasets: new Set([dataset]),
  };
}

function view(ctx: Context, inner: Relation, depth: number): Relation {
  const { c } = ctx;
  const alias = c.fresh('v');
  const keepIdentifiers = c.chance(0.75);
  const names = new Set<string>();
  const chosen = inner.columns.filter((col) =>
    col.cls === 'identifier'
      ? keepIdentifiers
      : col.cls === 'blocked' || col.cls === 'quasi'
        ? c.chance(0.01)
        : c.chance(0.75),
  );
  if (chosen.length === 0) chosen.push(inner.columns[0] as Column);
  const selected: { col: Column; name: string }[] = chosen.flatMap((col) => {
    let name = c.chance(0.15) ? `${col.name}_r` : col.name;
    while (names.has(name)) name = `${name}_${names.size}`;
    names.add(name);
    return [{ col, name }];
  });
  const units: Unit[] = [];
  // A column computed from a condition over one person's dimensions: aggregating it is the
  // conditional aggregation the checker refuses inside aggregates, one level down.
  if (c.chance(0.2)) {
    const dates = dims(inner.columns, 'DATE');
    const texts = dims(inner.columns, 'VARCHAR');
    const value =
      dates.length > 0 && c.chance(0.6)
        ? wrap('year(', c.pick(dates).ref, ')')
        : texts.length > 0
          ? wrap('length(', c.pick(texts).ref, ')')
          : same('1');
    const expression = join(
      [
        same('CASE WHEN '),
        filter(ctx, inner.columns, 1, units),
        same(' THEN '),
        value,
        same(` ELSE ${c.pick(['0', '3000', 'NULL'])} END`),
      ],
      '',
    );
    const base = inner.columns[0] as Column;
    selected.push({
      col: {
        ...base,
        ref: expression,
        name: 'computed',
        source: 'computed',
        cls: 'dimension',
        type: 'INTEGER',
        computed: true,
      },
      name: c.fresh('c'),
    });
  }
  const where = c.chance(0.7) ? wrap(' WHERE ', filter(ctx, inner.columns, Math.min(depth, 2), units), '') : same('');
  const allUnits = [...inner.units, ...units];
  const unitNames = allUnits.map(() => c.fresh('__o_u'));
  const distinct = c.chance(0.08);
  const list: Dual = {
    a: selected.map(({ col, name }) => `${col.ref.a} AS ${name}`).join(', '),
    o: [
      ...selected.map(({ col, name }) => `${col.ref.o} AS ${name}`),
      ...allUnits.map((u, i) => `${u.expr} AS ${unitNames[i]}`),
    ].join(', '),
  };
  const body = join([same(`SELECT ${distinct ? 'DISTINCT ' : ''}`), list, same(' FROM '), inner.from, where], '');
  let from: Dual;
  if (c.chance(0.5)) {
    const name = c.fresh('cte');
    ctx.ctes.push(join([same(`${name} AS (`), body, same(')')], ''));
    from = same(`${name} AS ${alias}`);
  } else from = wrap('(', body, `) AS ${alias}`);
  return {
    from,
    columns: selected.map(({ col, name }) => ({ ...col, ref: same(`${alias}.${name}`), name })),
    units: allUnits.map((u, i) => ({
      dataset: u.dataset,
      expr: `${alias}.${unitNames[i]}`,
      ...(u.semi ? { semi: true } : {}),
    })),
    datasets: inner.datasets,
  };
}

function joinRelations(ctx: Context, depth: number): Relation {
  const { c } = ctx;
  const left = relation(ctx, undefined, depth - 1);
  // Two datasets in the demo: a third side would join a dataset to itself, which no owner allows.
  if (left.datasets.size > 1 && c.chance(0.85)) return left;
  const right = relation(ctx, c.chance(0.92) ? otherThan(left.datasets) : undefined, depth - 1);
  const leftIds = left.columns.filter((col) => col.cls === 'identifier');
  const rightIds = right.columns.filter((col) => col.cls === 'identifier');
  // Without an identifier on each side the join is refused; keep some of those, not most.
  if ((leftIds.length === 0 || rightIds.length === 0) && c.chance(0.7)) return left;
  const type = c.pick(['JOIN', 'LEFT JOIN', 'RIGHT JOIN', 'FULL JOIN', 'INNER JOIN']);
  const leftUnit = left.columns.find((col) => col.name === 'email_hash' && col.cls === 'identifier');
  if (
    leftUnit &&
    right.columns.some((col) => col.name === 'email_hash' && col.cls === 'identifier') &&
    c.chance(0.25)
  ) {
    // USING merges the column: unqualified email_hash is the left's (INNER/LEFT), the right's (RIGHT), coalesce (FULL).
    return {
      from: join(
        [
          left.from,
          same(` ${type} `),
          right.isJoin ? wrap('(', right.from, ')') : right.from,
          same(' USING (email_hash)'),
        ],
        '',
      ),
      columns: [...left.columns, ...right.columns, { ...leftUnit, ref: same('email_hash') }],
      units: [...left.units, ...right.units],
      datasets: new Set([...left.datasets, ...right.datasets]),
      isJoin: true,
    };
  }
  const on =
    leftIds.length > 0 && rightIds.length > 0
      ? join([c.pick(leftIds).ref, same(' = '), c.pick(rightIds).ref], '')
      : join([c.pick(left.columns).ref, same(' = '), c.pick(right.columns).ref], '');
  const onUnits: Unit[] = [];
  const extra = c.chance(0.15) ? wrap(' AND ', filter(ctx, right.columns, 0, onUnits), '') : same('');
  return {
    from: join(
      [left.from, same(` ${type} `), right.isJoin ? wrap('(', right.from, ')') : right.from, same(' ON '), on, extra],
      '',
    ),
    isJoin: true,
    columns: [...left.columns, ...right.columns],
    units: [...left.units, ...right.units, ...onUnits],
    datasets: new Set([...left.datasets, ...right.datasets]),
  };
}

const otherThan = (datasets: ReadonlySet<DatasetKey>): DatasetKey | undefined =>
  datasets.has('ac') && !datasets.has('pi') ? 'pi' : datasets.has('pi') && !datasets.has('ac') ? 'ac' : undefined;

/** A grouping expression over the top scope. */
function groupKey(ctx: Context, scope: readonly Column[], units: Unit[]): Dual {
  const { c } = ctx;
  const dimensions = dims(scope);
  const kind = c.pick([
    'col',
    'col',
    'col',
    'col',
    'lower',
    'date',
    'case',
    'semi-case',
    'semi-case',
    'col',
    ...(ctx.wide ? [] : ['misuse']),
  ]);
  if (dimensions.length === 0 || kind === 'misuse') return c.pick(scope).ref;
  const coarse = dimensions.filter((d) => COARSE.has(d.source));
  const col = c.pick(ctx.wide && coarse.length > 0 ? coarse : dimensions);
  switch (kind) {
    case 'lower':
      return col.type === 'VARCHAR' ? wrap('lower(', col.ref, ')') : col.ref;
    case 'date': {
      const dates = dims(scope, 'DATE');
      if (dates.length === 0) return col.ref;
      const d = c.pick(dates).ref;
      return c.pick([wrap("date_trunc('month', ", d, ')'), wrap('year(', d, ')'), wrap('strftime(', d, ", '%Y-%m')")]);
    }
    case 'case':
      return wrap('CASE WHEN ', join([filter(ctx, scope, 1, units), same(" THEN 'yes' ELSE 'no' END")], ''), '');
    case 'semi-case':
      return wrap(
        'CASE WHEN ',
        join([semiJoin(ctx, scope, 1, units), same(" THEN 'matched' ELSE 'other' END")], ''),
        '',
      );
    default:
      return col.ref;
  }
}

/** An aggregate output; `exact` when the oracle can recompute its value from the raw rows. */
function aggregate(
  ctx: Context,
  scope: readonly Column[],
): { text: Dual; exact: boolean; rounded?: boolean; measure?: Measure } {
  const { c } = ctx;
  const metrics = scope.filter((col) => col.cls === 'metric');
  const ids = scope.filter((col) => col.cls === 'identifier' && col.source === 'email_hash');
  const kind = c.pick(
    ctx.mode === 'dp'
      ? ['count', 'count', 'distinct', 'sum', 'sum', 'avg', 'other']
      : ['count', 'count', 'distinct', 'sum', 'sum', 'avg', 'ratio', 'round', 'count', 'sum', 'other'],
  );
  const metric = metrics.length > 0 ? c.pick(metrics) : undefined;
  const computed = scope.filter((col) => col.computed);
  if (computed.length > 0 && c.chance(0.3)) {
    return {
      text: join(
        [same(c.pick(['sum(', 'avg(', 'count(DISTINCT ', 'sum(DISTINCT '])), c.pick(computed).ref, same(')')],
        '',
      ),
      exact: false,
    };
  }
  switch (kind) {
    case 'distinct':
      return ids.length > 0 ? { text: wrap('count(DISTINCT ', c.pick(ids).ref, ')'), exact: true } : rows;
    case 'sum':
      return metric ? { text: wrap('sum(', metric.ref, ')'), exact: true, measure: sumOf(metric) } : rows;
    case 'avg':
      return metric ? { text: wrap('avg(', metric.ref, ')'), exact: true, measure: sumOf(metric) } : rows;
    case 'ratio':
      return metric ? { text: wrap('sum(', metric.ref, ') / count(*)'), exact: true, measure: sumOf(metric) } : rows;
    case 'round':
      return metric
        ? { text: wrap('round(100 * avg(', metric.ref, '), 2)'), exact: true, rounded: true, measure: sumOf(metric) }
        : rows;
    case 'other': {
      const col = c.pick(scope);
      return {
        text: join([same(`${c.pick(['min', 'max', 'count', 'sum', 'median', 'stddev'])}(`), col.ref, same(')')], ''),
        exact: false,
      };
    }
    default:
      return rows;
  }
}

const rows = { text: same('count(*)'), exact: true, measure: { kind: 'rows' } } as const;
const sumOf = (metric: Column): Measure => ({ kind: 'sum', metric: metric.ref.o, dataset: metric.dataset });

/** One generated query with its oracle. */
export function generateQuery(g: fc.GeneratorValue, data: SampleRows): GeneratedQuery {
  const c = new Chooser(g);
  const mode = c.chance(0.2) ? 'dp' : 'threshold';
  const ctx: Context = { c, data, ctes: [], mode, wide: c.chance(0.4) };
  const from = relation(ctx, undefined, c.int(0, 4));
  const topUnits: Unit[] = [];
  const where = c.chance(0.75) ? wrap(' WHERE ', filter(ctx, from.columns, 2, topUnits), '') : same('');
  const keys = Array.from({ length: c.int(0, 3) }, () => groupKey(ctx, from.columns, topUnits));
  const aggregates = Array.from({ length: c.int(1, 3) }, () => aggregate(ctx, from.columns));
  const outputs = [
    ...keys.map((k, i) => wrap('', k, ` AS k${i}`)),
    ...aggregates.map((a, i) => wrap('', a.text, ` AS a${i}`)),
  ];
  const groupBy = keys.length === 0 ? '' : c.pick(['exprs', 'positions', 'all']);
  const groupText: Dual =
    groupBy === 'exprs'
      ? wrap(' GROUP BY ', join(keys, ', '), '')
      : groupBy === 'positions'
        ? same(` GROUP BY ${keys.map((_, i) => i + 1).join(', ')}`)
        : groupBy === 'all'
          ? same(' GROUP BY ALL')
          : same('');
  const having = ctx.mode === 'threshold' && c.chance(0.2) ? same(` HAVING count(*) >= ${c.int(1, 300)}`) : same('');
  const outputNames = [...keys.map((_, i) => `k${i}`), ...aggregates.map((_, i) => `a${i}`)];
  const order = c.chance(0.3) ? same(` ORDER BY ${c.pick(outputNames)} ${c.pick(['ASC', 'DESC'])}`) : same('');
  const limit = c.chance(0.2) ? same(` LIMIT ${c.int(1, 30)}`) : same('');
  const withClause = (texts: readonly string[]) => (texts.length > 0 ? `WITH ${texts.join(', ')} ` : '');
  const sql =
    `${withClause(ctx.ctes.map((t) => t.a))}SELECT ${outputs.map((o) => o.a).join(', ')} FROM ${from.from.a}` +
    `${where.a}${groupText.a}${having.a}${order.a}${limit.a}`;
  const units = [...from.units, ...topUnits];
  const oracleSelect = [
    ...keys.map((k) => k.o),
    ...units.map((u) => `count(DISTINCT ${u.expr})`),
    ...aggregates.map((a) => a.text.o),
  ];
  const oracleGroupBy = keys.length > 0 ? ` GROUP BY ${keys.map((k) => k.o).join(', ')}` : '';
  const oracle =
    `${withClause(ctx.ctes.map((t) => t.o))}SELECT ${oracleSelect.join(', ')} FROM ${from.from.o}` +
    `${where.o}${oracleGroupBy}`;
  const measures = aggregates.flatMap((a) => (a.measure ? [a.measure] : []));
  const perPerson = units.flatMap((unit, index) => {
    const own = measures.filter((m) => m.kind === 'rows' || m.dataset === unit.dataset);
    if (unit.semi || own.length === 0) return [];
    const contributions = own.map((m) => (m.kind === 'rows' ? 'count(*)' : `sum(abs(CAST(${m.metric} AS DOUBLE)))`));
    const filter = `${where.o ? `${where.o} AND` : ' WHERE'} ${unit.expr} IS NOT NULL`;
    const sql =
      `${withClause(ctx.ctes.map((t) => t.o))}SELECT ${[...keys.map((k) => k.o), ...contributions].join(', ')} ` +
      `FROM ${from.from.o}${filter} GROUP BY ${[...keys.map((k) => k.o), unit.expr].join(', ')}`;
    return [{ unit: index, sql, measures: own }];
  });
  return {
    sql,
    mode,
    oracle,
    keyCount: keys.length,
    units,
    measures,
    perPerson,
    exactAggregates: aggregates.flatMap((a, i) => (a.exact ? [keys.length + i] : [])),
    roundedAggregates: aggregates.flatMap((a, i) => (a.exact && a.rounded ? [keys.length + i] : [])),
    description: `${mode}, ${units.length} unit(s) of ${[...new Set(units.map((u) => u.dataset))].join('+')}`,
  };
}

/** fast-check's arbitrary of generated queries over the given rows. */
export const queries = (data: SampleRows): fc.Arbitrary<GeneratedQuery> => fc.gen().map((g) => generateQuery(g, data));
