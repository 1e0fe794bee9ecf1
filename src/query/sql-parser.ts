import { treeToJson, type SerializedSql, type SqlNode } from './sql-tree.ts';

/**
 * What planning needs from a SQL engine: its own parse tree of a text, and text back from a
 * (rewritten) tree. The checker and rewriters never see the engine; they see trees. In production
 * this is DuckDB's json_serialize_sql and json_deserialize_sql (`jsonSqlParser`).
 */
export interface SqlParser {
  /** The engine's parse tree, or its refusal (error: true). Never throws on bad SQL. */
  parse(sql: string): Promise<ParsedSql>;
  /** SQL text for a tree, with the named parameters of the statement it came from. */
  render(tree: SqlNode, parsed?: ParsedSql): Promise<string>;
}

/** A parse: the serialized statements, or the engine's error. */
export type ParsedSql = SerializedSql;

/** Text in, text out: the two DuckDB functions a JSON parser is built on. */
export interface SqlTextCodec {
  serialize(sql: string): Promise<string>;
  deserialize(json: string): Promise<string>;
}

/** The error_type a parse answers when the engine's JSON holds a number JSON cannot (1e400 is Infinity). */
export const UNREPRESENTABLE = 'UNREPRESENTABLE_CONSTANT';

/** A SqlParser over DuckDB's JSON form of the parse tree. */
export function jsonSqlParser(codec: SqlTextCodec): SqlParser {
  return {
    async parse(sql) {
      const json = await codec.serialize(sql);
      try {
        return JSON.parse(json) as ParsedSql;
      } catch {
        // DuckDB writes a DOUBLE past its range as the bare token Infinity, which is not JSON.
        return { error: true, error_type: UNREPRESENTABLE, error_message: 'a number past the range of DOUBLE' };
      }
    },
    async render(tree, parsed) {
      requireFromEverywhere(tree);
      const statement = parsed?.statements?.[0];
      return codec.deserialize(
        treeToJson({ error: false, statements: [{ node: tree, named_param_map: statement?.named_param_map ?? [] }] }),
      );
    },
  };
}

/**
 * DuckDB's json_deserialize_sql crashes the whole process (a segfault, not an error) on a SELECT
 * node without `from_table` (measured: a tree built by hand). Trees from a parse always carry one
 * (EMPTY_FROM for `SELECT 1`); a tree the room built without one is a bug, refused here.
 */
function requireFromEverywhere(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) requireFromEverywhere(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (record.type === 'SELECT_NODE' && (typeof record.from_table !== 'object' || record.from_table === null))
    throw new Error('internal error: a SELECT node without from_table would crash the engine');
  for (const value of Object.values(record)) requireFromEverywhere(value);
}
