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
    } else {
      const view = edit.view as Mutable;
      (view.select_list as SqlNode[]).push(columnRef(edit.ref, edit.alias));
    }
  }
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
