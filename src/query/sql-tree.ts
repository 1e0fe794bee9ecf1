/**
 * DuckDB's serialized parse tree (json_serialize_sql), typed only as far as the checker reads it.
 * Nodes are plain JSON; anything the checker does not recognise is refused, never guessed at.
 */
export type SqlNode = { readonly [key: string]: unknown; readonly type?: string; readonly class?: string; readonly query_location?: number };

export const isNode = (value: unknown): value is SqlNode => typeof value === 'object' && value !== null && !Array.isArray(value);

export const child = (node: SqlNode, key: string): SqlNode | undefined => (isNode(node[key]) ? (node[key] as SqlNode) : undefined);

export const children = (node: SqlNode, key: string): SqlNode[] =>
  Array.isArray(node[key]) ? (node[key] as unknown[]).filter(isNode) : [];

export const text = (node: SqlNode, key: string): string => (typeof node[key] === 'string' ? (node[key] as string) : '');

/** DuckDB resolves identifiers case-insensitively, quoted or not; so does the checker. */
export const fold = (name: string): string => name.toLowerCase();

/** The serialized statement list, or the parser's own error. */
export interface SerializedSql {
  readonly error: boolean;
  readonly error_message?: string;
  readonly error_type?: string;
  readonly position?: string | number;
  readonly statements?: readonly { readonly node: SqlNode; readonly named_param_map?: unknown }[];
}

/** Builds a column reference node in DuckDB's serialized form. */
export const columnRef = (names: readonly string[], alias = ''): SqlNode => ({
  class: 'COLUMN_REF', type: 'COLUMN_REF', alias, query_location: -1, column_names: [...names],
});

/** Builds an aggregate call node, e.g. count(DISTINCT x). */
export const aggregateCall = (name: string, args: readonly SqlNode[], options: { distinct?: boolean; alias?: string } = {}): SqlNode => ({
  class: 'FUNCTION', type: 'FUNCTION', alias: options.alias ?? '', query_location: -1,
  function_name: name, schema: '', children: [...args], filter: null,
  order_bys: { type: 'ORDER_MODIFIER', orders: [] }, distinct: options.distinct ?? false,
  is_operator: false, export_state: false, catalog: '',
});
