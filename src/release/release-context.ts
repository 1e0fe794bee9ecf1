import type { AuditEntry } from '../audit/audit-entry.ts';
import type { AuditAct } from '../audit/audit-log.ts';
import type { Logger } from '../log/logger.ts';
import type { Collaboration } from '../policy/collaboration.ts';
import type { PrivacyCost, RandomSource } from '../privacy/index.ts';
import type { Residency } from '../policy/residency.ts';
import type { SqlParser } from '../query/sql-parser.ts';
import type { QueryExecutor } from '../executor/query-executor.ts';
import type { BoundParameter } from '../store/bound-parameters.ts';
import type { ResultTable } from '../store/result-values.ts';

/** The engine as a release path uses it: run checked SQL, and what it knows of the loaded tables. */
export interface QueryEngine {
  query(sql: string, parameters: Readonly<Record<string, BoundParameter>>): Promise<ResultTable>;
  tableExists(schema: string, table: string): boolean;
  columnIsUnique(schema: string, table: string, column: string): Promise<boolean>;
  /** moves whenever the live table is replaced or dropped, NaN meanwhile (DataEngine.tableGeneration) */
  tableGeneration(schema: string, table: string): number;
  /** the dataset version the live table holds, when its commit said (DataEngine.liveVersion) */
  liveVersion(schema: string, table: string): number | undefined;
}

/** The DP budgets, durable: charged before a query reads data; refunded only as the path decides. */
export interface BudgetLedger {
  charge(
    collaboration: Collaboration,
    member: string,
    actor: string,
    datasets: readonly string[],
    cost: PrivacyCost,
  ): Promise<{ chargeId: string; remaining: Record<string, PrivacyCost> }>;
  refund(collaborationId: string, actor: string, chargeId: string, reason: string): Promise<void>;
}

/**
 * What a release path needs from the running room, and nothing more: the parser and engine, the
 * budget ledger, the audit chain, the random source, the operator's log. The room builds it; a test
 * can build one with in-memory parts.
 */
export interface ReleaseContext {
  readonly parser: SqlParser;
  readonly engine: QueryEngine;
  /** runs threshold and DP releases' planned statements (the engine itself by default) */
  readonly executor: Pick<QueryExecutor, 'name' | 'run'>;
  readonly ledger: BudgetLedger;
  /** appends one entry to its collaboration's audit chain, in a transaction of its own */
  audit(act: AuditAct): Promise<AuditEntry>;
  /** the version of each dataset a release read, recorded in its audit entry (absent: not recorded) */
  dataVersions?(collaborationId: string, datasets: readonly string[]): Promise<Readonly<Record<string, number>>>;
  readonly random: RandomSource;
  readonly log: Logger;
  /** the regions whose datasets this room may read (room configuration) */
  readonly residency: Residency;
}
