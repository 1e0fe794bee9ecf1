import type { RewriteEdit } from './rewrite-edits.ts';
import type { SqlNode } from './sql-tree.ts';

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
      (view.select_list as SqlNode[]).push({ ...edit.expression, alias: edit.alias });
    } else if (edit.kind === 'alias-subquery') {
      (edit.table as Mutable).alias = edit.alias;
    } else if (edit.kind === 'try-cast') {
      (edit.node as Mutable).try_cast = true;
    } else if (edit.kind === 'cast-literal') {
      wrapInTryCast(edit.node as Mutable, edit.type);
    } else {
      wrapInTryCast(edit.node as Mutable, 'DOUBLE');
    }
  }
}

/** Turns a node, in place, into TRY_CAST(node AS type), keeping its alias on the cast. */
function wrapInTryCast(node: Mutable, type: string): void {
  if (node.class === 'CAST' && node.try_cast === true && (node.cast_type as { id?: string } | undefined)?.id === type) return;
  const alias = node.alias ?? '';
  const inner = { ...node, alias: '' };
  for (const key of Object.keys(node)) delete node[key];
  Object.assign(node, { class: 'CAST', type: 'OPERATOR_CAST', alias, query_location: -1, child: inner, cast_type: { id: type, type_info: null }, try_cast: true });
}
