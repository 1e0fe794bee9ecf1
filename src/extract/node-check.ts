import type { ColumnDocument, Hierarchy } from '../policy/policy-document.ts';
import {
  aggregateCall,
  caseWhen,
  coalesce,
  columnRef,
  compare,
  conjunction,
  double,
  integer,
  NULL_CONSTANT,
  selectNode,
  subqueryRef,
  type SqlNode,
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
  /** people in classes under k: their rows would be suppressed */
  readonly suppressed: number;
  readonly classes: number;
  /** the smallest class that would be released (k achieved); 0 if none */
  readonly smallest: number;
  readonly people: number;
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
 * One DuckDB query per lattice node: the rows (one per person) grouped by every quasi-identifier at
 * the node's level, then only the class sizes summed: people in classes that fail (under k people,
 * or, with `diversity`, too few or too evenly skewed sensitive values), the number of classes, the
 * smallest released class and everyone. A failing class is suppressed whole, so its people count
 * against the suppression limit. No value of any class leaves the query.
 */
export function nodeCheckTree(
  from: SqlNode,
  quasi: readonly QuasiIdentifier[],
  node: LevelVector,
  k: number,
  diversity?: Diversity,
): SqlNode {
  if (node.length !== quasi.length) throw new RangeError('a node has one level per quasi-identifier');
  const generalised = quasi.map((q, i) => {
    const level = levelExpressions(q.column, q.hierarchy, q.ref)[node[i] as number];
    if (!level) throw new RangeError(`quasi-identifier ${q.column.name} has no level ${node[i]}`);
    return level;
  });
  const classes = selectNode({
    select: [
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
  const n = columnRef(['__cr_classes', '__cr_n']);
  const fails = conjunction('CONJUNCTION_OR', [
    compare('COMPARE_LESSTHAN', n, integer(k)),
    ...(diversity
      ? [
          compare(
            'COMPARE_LESSTHAN',
            columnRef(['__cr_classes', '__cr_l']),
            // Entropy is in bits (DuckDB's entropy() is log-2): l equally frequent values give log2(l).
            diversity.kind === 'distinct' ? integer(Math.ceil(diversity.l)) : double(Math.log2(diversity.l)),
          ),
        ]
      : []),
  ]);
  return selectNode({
    select: [
      { ...coalesce([aggregateCall('sum', [caseWhen(fails, n, '', integer(0))]), integer(0)]), alias: 'suppressed' },
      aggregateCall('count_star', [], { alias: 'classes' }),
      { ...coalesce([aggregateCall('min', [caseWhen(fails, NULL_CONSTANT, '', n)]), integer(0)]), alias: 'smallest' },
      { ...coalesce([aggregateCall('sum', [n]), integer(0)]), alias: 'people' },
    ],
    from: subqueryRef(classes, '__cr_classes'),
  });
}
