import type { CheckedRelease } from './query-checker.ts';
import type { RewriteEdit } from './rewrite-edits.ts';
import { aggregateCall, children, columnRef, type SqlNode } from './sql-tree.ts';

export const UNIT_COUNT_PREFIX = '__cr_units_';

type Mutable = Record<string, unknown>;

/** Applies the checker's edits: dataset references qualified, privacy units projected from views. */
export function applyEdits(edits: readonly RewriteEdit[]): void {
  for (const edit of edits) {
    if (edit.kind === 'qualify-table') {
      const table = edit.table as Mutable;
      table.schema_name = edit.schema;
      table.alias = edit.alias;
    } else if (edit.kind === 'project-unit') {
      const view = edit.view as Mutable;
      (view.select_list as SqlNode[]).push(columnRef(edit.ref, edit.alias));
    } else if (edit.kind === 'alias-subquery') {
      (edit.table as Mutable).alias = edit.alias;
    } else if (edit.kind === 'try-cast') {
      (edit.node as Mutable).try_cast = true;
    } else {
      wrapAsDouble(edit.node as Mutable);
    }
  }
}

/** Turns an aggregate node, in place, into TRY_CAST(aggregate AS DOUBLE). */
function wrapAsDouble(node: Mutable): void {
  const inner = { ...node, alias: '' };
  for (const key of Object.keys(node)) delete node[key];
  Object.assign(node, { class: 'CAST', type: 'OPERATOR_CAST', alias: inner.alias ?? '', query_location: -1, child: inner, cast_type: { id: 'DOUBLE', type_info: null }, try_cast: true });
}

/**
 * Adds count(DISTINCT unit) for every dataset in the released query's FROM, so the room can drop
 * groups with fewer people than the strictest owner's minimum, and removes LIMIT so it applies
 * to the groups that survive, not before. Mutates the tree it is given (the caller's private copy).
 */
export function addUnitCounts(root: SqlNode, release: CheckedRelease): string[] {
  const select = root as Mutable;
  const names = release.unitRefs.map((_, i) => `${UNIT_COUNT_PREFIX}${i}`);
  release.unitRefs.forEach(({ ref }, i) => {
    (select.select_list as SqlNode[]).push(aggregateCall('count', [columnRef(ref)], { distinct: true, alias: names[i] }));
  });
  select.modifiers = children(root, 'modifiers').filter((m) => m.type !== 'LIMIT_MODIFIER');
  return names;
}
