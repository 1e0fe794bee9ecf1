import { diagnostic } from '../errors/diagnostic.ts';
import { refuseIf } from '../errors/refused-error.ts';
import type { Collaboration, Dataset } from '../policy/collaboration.ts';
import { aggregateCall, columnRef, functionCall, selectNode, tableRef } from '../query/sql-tree.ts';
import type { ReleaseContext } from './release-context.ts';

/**
 * Refuses, under `code`, a dataset with a row that belongs to no one (a NULL privacy unit) or a
 * person in two rows: extracts count k in people and models bound one person's influence by one
 * row, so both need exactly one row per person.
 */
export async function requireOneRowPerPerson(
  ctx: ReleaseContext,
  collaboration: Collaboration,
  dataset: Dataset,
  code: 'EXTRACT_NOT_ONE_ROW_PER_PERSON' | 'MODEL_NOT_ONE_ROW_PER_PERSON',
): Promise<void> {
  const unit = dataset.rules.privacyUnit;
  const table = { ...tableRef(dataset.name, '__cr_x'), schema_name: collaboration.id };
  const missing = selectNode({
    select: [
      functionCall('-', [aggregateCall('count_star', []), aggregateCall('count', [columnRef(['__cr_x', unit])])]),
    ],
    from: table,
  });
  const [row] = (await ctx.engine.query(await ctx.parser.render(missing), {})).rows;
  if (Number(row?.[0] ?? 0) > 0 || !(await ctx.engine.columnIsUnique(collaboration.id, dataset.name, unit)))
    refuseIf([
      diagnostic(
        code,
        `"${dataset.name}" holds rows without a ${unit}, or more than one row for some ${unit}: this needs exactly ` +
          'one row per person.',
        `datasets.${dataset.name}.rules.privacyUnit`,
        { dataset: dataset.name, privacyUnit: unit },
      ),
    ]);
}

/**
 * Starts the engine's once-per-version uniqueness check of a dataset's privacy unit right after a
 * commit, without waiting for it: the first query plan, extract or model on the new version then
 * finds it answered instead of paying for it (bench:models: 67 ms at 1M people, and a query plan
 * asks it of every loaded dataset). The engine caches the answer and never rejects.
 */
export function warmOneRowPerPerson(
  engine: Pick<ReleaseContext['engine'], 'columnIsUnique'>,
  schema: string,
  dataset: Dataset,
): void {
  void engine.columnIsUnique(schema, dataset.name, dataset.rules.privacyUnit);
}
