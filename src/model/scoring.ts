import {
  caseWhen,
  castTo,
  columnRef,
  compare,
  double,
  functionCall,
  integer,
  selectNode,
  stringConstant,
  tableRef,
  type SqlNode,
} from '../query/sql-tree.ts';
import type { ModelCard } from './model-card.ts';
import { clipTo } from './sufficient-statistics.ts';

/**
 * The SQL the room runs to score one dataset's own rows with a model card, for the dataset's owner:
 * each row's privacy unit and x·β (σ(x·β) for a logistic model), numeric features clipped to the
 * card's bounds and categories one-hot on its levels, exactly as in training and in local scoring; a
 * missing numeric feature gives no score. Built from the card's validated names and numbers, never
 * from caller text.
 */
export function scoringTree(
  schema: string,
  dataset: string,
  unit: string,
  card: Pick<ModelCard, 'model' | 'features' | 'coefficients'>,
): SqlNode {
  const ref = (column: string) => columnRef(['__cr_s', column]);
  const times = (a: SqlNode, b: SqlNode) => functionCall('*', [a, b]);
  const terms = card.features.map((f, i) => {
    const beta = double(card.coefficients[i] ?? 0);
    if (f.encoding === 'intercept') return beta;
    if (f.encoding === 'numeric') {
      // A missing value stays NULL through the clip: no score, never the bound.
      return times(beta, clipTo(castTo(ref(f.name), 'DOUBLE'), f.bounds[0], f.bounds[1]));
    }
    const matches = compare('COMPARE_EQUAL', castTo(ref(f.name), 'VARCHAR'), stringConstant(f.level));
    return times(beta, caseWhen(matches, integer(1), '', integer(0)));
  });
  const eta = terms.reduce((a, b) => functionCall('+', [a, b]));
  const score =
    card.model === 'logistic'
      ? functionCall('/', [double(1), functionCall('+', [double(1), functionCall('exp', [functionCall('-', [eta])])])])
      : eta;
  return selectNode({
    select: [
      { ...ref(unit), alias: unit },
      { ...score, alias: 'score' },
    ],
    from: { ...tableRef(dataset, '__cr_s'), schema_name: schema },
  });
}
