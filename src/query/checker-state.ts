import type { Collaboration } from '../policy/collaboration.ts';
import type { ColumnClass } from '../policy/policy-document.ts';
import { diagnostic, type Diagnostic, type QueryDiagnosticCode } from '../errors/diagnostic.ts';
import { positionOf } from './source-position.ts';
import type { RewriteEdit } from './rewrite-edits.ts';
import type { ColumnInfo, ColumnOrigin } from './scope.ts';
import type { SqlNode } from './sql-tree.ts';
import type { SqlType } from './sql-types.ts';

/** Names starting with this are the room's own (injected columns, aliases); users may not use them. */
export const RESERVED_PREFIX = '__cr_';

/**
 * What one check of one query accumulates, shared by the relation and expression checkers:
 * every diagnostic (never only the first), the rewrite edits, and what the query touches.
 */
export class CheckerState {
  readonly diagnostics: Diagnostic[] = [];
  readonly edits: RewriteEdit[] = [];
  readonly datasetsRead = new Set<string>();
  readonly columnsTouched = new Map<string, ColumnClass>();
  readonly parameters = new Set<string>();
  /** identifier pairs joined or semi-joined by equality, by origin */
  readonly joinPairs: { a: ColumnOrigin; b: ColumnOrigin }[] = [];
  /** the kinds of join the query uses (INNER, LEFT, RIGHT, FULL) */
  readonly joinTypes = new Set<string>();
  /** for each column an aggregate of the released query takes (by shape): the datasets it comes from */
  readonly aggregateArguments = new Map<string, ReadonlySet<string>>();
  /** aggregate arguments (by shape) seen with a numeric or boolean type, and those seen with another type */
  readonly summable = new Set<string>();
  readonly notSummable = new Set<string>();
  private counter = 0;

  constructor(
    readonly collaboration: Collaboration,
    private readonly sql: string,
    readonly parameterTypes: ReadonlyMap<string, SqlType> = new Map(),
  ) {}

  /** Records a refusal with its rule and the position of `node` in the SQL. */
  refuse(
    code: QueryDiagnosticCode,
    message: string,
    node: SqlNode | undefined,
    extra: { rule?: string; dataset?: string; column?: string } = {},
  ): void {
    const data = {
      ...(extra.dataset ? { dataset: extra.dataset } : {}),
      ...(extra.column ? { column: extra.column } : {}),
    };
    this.diagnostics.push(
      diagnostic(code, message, extra.rule ?? 'deny-by-default', data, positionOf(this.sql, node?.query_location)),
    );
  }

  /** Records that the query reads a column (for the officer's report). */
  touch(column: ColumnInfo): void {
    if (column.origin) this.columnsTouched.set(`${column.origin.dataset}.${column.origin.column}`, column.class);
    else for (const d of column.datasets) this.columnsTouched.set(`${d}.${column.name}`, column.class);
  }

  /** A fresh number for names the room injects. */
  nextId(): number {
    return this.counter++;
  }
}
