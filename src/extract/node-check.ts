import type { ColumnDocument, Hierarchy } from '../policy/policy-document.ts';
import {
  aggregateCall,
  caseWhen,
  castTo,
  coalesce,
  columnRef,
  compare,
  conjunction,
  double,
  functionCall,
  integer,
  isNull,
  joinRef,
  not,
  NULL_CONSTANT,
  selectNode,
  subqueryRef,
  type SqlNode,
  windowAggregate,
} from '../query/sql-tree.ts';
import { levelExpressions } from './generalisation.ts';
import type { LevelVector } from './lattice.ts';

/** One quasi-identifier of an extract: its column, its hierarchy, and a reference to it in `from`. */
export interface QuasiIdentifier {
  readonly column: ColumnDocument;
  readonly hierarchy: Hierarchy;
  readonly ref: SqlNode;
}

/** What one node's check answers: never a class's values, only sizes. */
export interface NodeCheck {
  /** people in classes that fail k (or l, t): their rows would be suppressed */
  readonly suppressed: number;
  readonly classes: number;
  /** the smallest class that would be released (k achieved); 0 if none */
  readonly smallest: number;
  readonly people: number;
  /** with l: the least diverse released class (distinct values, or 2^entropy); undefined if none is released */
  readonly diversity?: number;
  /** with t: the released class farthest from the whole (earth mover's distance); undefined if none */
  readonly closeness?: number;
}

/** The top level of each quasi-identifier, in lattice order: what `new Lattice(...)` takes. */
export const topLevels = (quasi: readonly QuasiIdentifier[]): number[] =>
  quasi.map((q) => levelExpressions(q.column, q.hierarchy, q.ref).length - 1);

/** l-diversity of a sensitive attribute in every class: at least l distinct values, or entropy of at least log2(l). */
export interface Diversity {
  readonly ref: SqlNode;
  readonly l: number;
  readonly kind: 'distinct' | 'entropy';
}

/**
 * t-closeness of a sensitive attribute: in every class, the earth mover's distance between the
 * class's histogram of it and the whole's is at most t. Values are categories at distance 1 from
 * each other (NULL is a category), so the distance is half the L1 distance of the two histograms.
 */
export interface Closeness {
  readonly ref: SqlNode;
  readonly t: number;
}

/** What a class must meet to be released. */
export interface Criteria {
  readonly k: number;
  readonly diversity?: Diversity;
  readonly closeness?: Closeness;
  /**
   * Further keys every class is split by: an earlier extract's quasi-identifiers at the levels it
   * released, so that a class must meet the rules in the union of both extracts (composition).
   */
  readonly alsoGroupedBy?: readonly SqlNode[];
}

const col = (table: string, name: string) => columnRef([table, name]);
const ratio = (a: SqlNode, b: SqlNode) => functionCall('/', [castTo(a, 'DOUBLE'), b]);

/** One row per class: `__cr_n` people, `__cr_l` (with diversity), `__cr_t` (with closeness). */
function classSizes(from: SqlNode, generalised: readonly SqlNode[], criteria: Criteria): SqlNode {
  const { diversity, closeness } = criteria;
  const keys = generalised.map((_, i) => `__cr_g${i}`);
  if (!closeness) {
    return selectNode({
      select: [
        ...generalised.map((g, i) => ({ ...g, alias: keys[i] as string })),
        aggregateCall('count_star', [], { alias: '__cr_n' }),
        ...(diversity
          ? [
              diversity.kind === 'distinct'
                ? aggregateCall('count', [diversity.ref], { distinct: true, alias: '__cr_l' })
                : aggregateCall('entropy', [diversity.ref], { alias: '__cr_l' }),
            ]
          : []),
      ],
      from,
      groups: generalised,
    });
  }
  // With t, people are counted per class and sensitive value (a cell) first; the class's size and the
  // value's share of everyone come from window sums over the cells, so one pass over the rows serves
  // k, l and t. l-diversity (when it is on the same attribute) is taken from the same cells, with NULL
  // not a value, as DuckDB's count(DISTINCT) and entropy() count them.
  const cells = selectNode({
    select: [
      ...generalised.map((g, i) => ({ ...g, alias: keys[i] as string })),
      { ...closeness.ref, alias: '__cr_s' },
      aggregateCall('count_star', [], { alias: '__cr_c' }),
    ],
    from,
    groups: [...generalised, closeness.ref],
  });
  const c = col('__cr_cells', '__cr_c');
  const s = col('__cr_cells', '__cr_s');
  const classKeys = keys.map((k) => col('__cr_cells', k));
  const weighted = selectNode({
    select: [
      ...classKeys,
      s,
      c,
      { ...windowAggregate('sum', [c], classKeys), alias: '__cr_n' },
      { ...ratio(windowAggregate('sum', [c], [s]), windowAggregate('sum', [c], [])), alias: '__cr_p' },
    ],
    from: subqueryRef(cells, '__cr_cells'),
  });
  const w = (name: string) => col('__cr_weighted', name);
  const share = ratio(w('__cr_c'), w('__cr_n'));
  const p = w('__cr_p');
  // EMD = ½ Σ_v |q_v − p_v| over every value; values absent from the class add p_v each, so
  // ½ (1 + Σ_{v in class} (|q_v − p_v| − p_v)).
  const emd = functionCall('*', [
    double(0.5),
    functionCall('+', [
      double(1),
      aggregateCall('sum', [functionCall('-', [functionCall('abs', [functionCall('-', [share, p])]), p])]),
    ]),
  ]);
  const nonNull = (value: SqlNode) => caseWhen(isNull(w('__cr_s')), integer(0), '', value);
  let l: SqlNode[] = [];
  if (diversity?.kind === 'distinct') l = [aggregateCall('count', [w('__cr_s')], { alias: '__cr_l' })];
  else if (diversity) {
    // Entropy of the non-NULL values in bits: log2(m) − Σ c·log2(c) / m, m the non-NULL people.
    const m = aggregateCall('sum', [nonNull(w('__cr_c'))]);
    const cLogC = functionCall('*', [w('__cr_c'), functionCall('log2', [w('__cr_c')])]);
    l = [
      {
        ...caseWhen(
          compare('COMPARE_EQUAL', m, integer(0)),
          double(0),
          '',
          functionCall('-', [functionCall('log2', [m]), ratio(aggregateCall('sum', [nonNull(cLogC)]), m)]),
        ),
        alias: '__cr_l',
      },
    ];
  }
  return selectNode({
    select: [
      ...keys.map((k) => w(k)),
      aggregateCall('max', [w('__cr_n')], { alias: '__cr_n' }),
      ...l,
      { ...emd, alias: '__cr_t' },
    ],
    from: subqueryRef(weighted, '__cr_weighted'),
    groups: keys.map((k) => w(k)),
  });
}

/**
 * One DuckDB query per lattice node: the rows (one per person) grouped by every quasi-identifier at
 * the node's level, then only the class sizes summed: people in classes that fail (under k people,
 * or, with `diversity`, too few or too evenly skewed sensitive values, or with `closeness`, too far
 * from the whole's distribution), the number of classes, the smallest released class, everyone, and
 * the achieved l and t over released classes. A failing class is suppressed whole, so its people
 * count against the suppression limit. No value of any class leaves the query.
 */
export function nodeCheckTree(
  from: SqlNode,
  quasi: readonly QuasiIdentifier[],
  node: LevelVector,
  criteria: Criteria,
): SqlNode {
  const { diversity, closeness } = criteria;
  const n = col('__cr_classes', '__cr_n');
  const fails = failing(criteria);
  const released = (value: SqlNode) => caseWhen(fails, NULL_CONSTANT, '', value);
  return selectNode({
    select: [
      { ...coalesce([aggregateCall('sum', [caseWhen(fails, n, '', integer(0))]), integer(0)]), alias: 'suppressed' },
      aggregateCall('count_star', [], { alias: 'classes' }),
      { ...coalesce([aggregateCall('min', [released(n)]), integer(0)]), alias: 'smallest' },
      { ...coalesce([aggregateCall('sum', [n]), integer(0)]), alias: 'people' },
      ...(diversity ? [aggregateCall('min', [released(col('__cr_classes', '__cr_l'))], { alias: 'diversity' })] : []),
      ...(closeness ? [aggregateCall('max', [released(col('__cr_classes', '__cr_t'))], { alias: 'closeness' })] : []),
    ],
    from: subqueryRef(classesAt(from, quasi, node, criteria), '__cr_classes'),
  });
}

/** The classes of a node (split by `alsoGroupedBy` too), keys `__cr_g0…`, with their sizes, l and t. */
function classesAt(from: SqlNode, quasi: readonly QuasiIdentifier[], node: LevelVector, criteria: Criteria): SqlNode {
  return classSizes(from, [...generalisedAt(quasi, node), ...(criteria.alsoGroupedBy ?? [])], criteria);
}

/** Whether a class of `__cr_classes` fails: under k people, or not l-diverse, or farther than t. */
function failing({ k, diversity, closeness }: Criteria): SqlNode {
  const n = col('__cr_classes', '__cr_n');
  return conjunction('CONJUNCTION_OR', [
    compare('COMPARE_LESSTHAN', n, integer(k)),
    ...(diversity
      ? [
          compare(
            'COMPARE_LESSTHAN',
            col('__cr_classes', '__cr_l'),
            // Entropy is in bits (DuckDB's entropy() is log-2): l equally frequent values give log2(l).
            diversity.kind === 'distinct' ? integer(Math.ceil(diversity.l)) : double(Math.log2(diversity.l)),
          ),
        ]
      : []),
    ...(closeness ? [compare('COMPARE_GREATERTHAN', col('__cr_classes', '__cr_t'), double(closeness.t))] : []),
  ]);
}

/**
 * The rows of a node's release: each quasi-identifier generalised to the node's level, then the
 * `columns` as stored, only from classes that meet the criteria (a failing class is dropped whole,
 * never partly shown). `columns` are (alias, expression) pairs: the attributes, and anything the
 * room verifies the release with before it leaves (the sensitive attribute). With `generalised: false`
 * only the columns are answered: the people a release would contain, as stored (what a later extract
 * to the same recipient is restricted to).
 */
export function releaseTree(
  from: SqlNode,
  quasi: readonly QuasiIdentifier[],
  node: LevelVector,
  criteria: Criteria,
  columns: readonly (readonly [string, SqlNode])[],
  options: { readonly generalised?: boolean } = {},
): SqlNode {
  const keys = [...generalisedAt(quasi, node), ...(criteria.alsoGroupedBy ?? [])];
  const rows = selectNode({
    select: [
      ...keys.map((g, i) => ({ ...g, alias: `__cr_g${i}` })),
      ...columns.map(([, value], i) => ({ ...value, alias: `__cr_a${i}` })),
    ],
    from,
  });
  const passing = selectNode({
    select: keys.map((_, i) => col('__cr_classes', `__cr_g${i}`)),
    from: subqueryRef(classesAt(from, quasi, node, criteria), '__cr_classes'),
    where: not(failing(criteria)),
  });
  const matches = conjunction(
    'CONJUNCTION_AND',
    keys.map((_, i) =>
      compare('COMPARE_NOT_DISTINCT_FROM', col('__cr_rows', `__cr_g${i}`), col('__cr_passing', `__cr_g${i}`)),
    ),
  );
  return selectNode({
    select: [
      ...(options.generalised === false
        ? []
        : quasi.map((q, i) => ({ ...col('__cr_rows', `__cr_g${i}`), alias: q.column.name }))),
      ...columns.map(([alias], i) => ({ ...col('__cr_rows', `__cr_a${i}`), alias })),
    ],
    from: joinRef(subqueryRef(rows, '__cr_rows'), subqueryRef(passing, '__cr_passing'), matches, 'INNER'),
  });
}

/** Every quasi-identifier's expression at the node's level. */
export function generalisedAt(quasi: readonly QuasiIdentifier[], node: LevelVector): SqlNode[] {
  if (node.length !== quasi.length) throw new RangeError('a node has one level per quasi-identifier');
  return quasi.map((q, i) => {
    const level = levelExpressions(q.column, q.hierarchy, q.ref)[node[i] as number];
    if (!level) throw new RangeError(`quasi-identifier ${q.column.name} has no level ${node[i]}`);
    return level;
  });
}

/** Reads the one row of a node check (its columns in `nodeCheckTree`'s order). */
export function readNodeCheck(row: readonly unknown[], criteria: Criteria): NodeCheck {
  const [suppressed, classes, smallest, people] = row.slice(0, 4).map(Number);
  let at = 4;
  const optional = () => {
    const value = row[at++];
    return value === null || value === undefined ? undefined : Number(value);
  };
  const diversity = criteria.diversity ? optional() : undefined;
  const closeness = criteria.closeness ? optional() : undefined;
  return {
    suppressed: suppressed as number,
    classes: classes as number,
    smallest: smallest as number,
    people: people as number,
    ...(diversity === undefined
      ? {}
      : { diversity: criteria.diversity?.kind === 'entropy' ? 2 ** diversity : diversity }),
    ...(closeness === undefined ? {} : { closeness }),
  };
}
