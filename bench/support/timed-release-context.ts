import type { ReleaseContext } from '../../src/release/release-context.ts';

/** Milliseconds of each engine call a release path made, in the order it made them. */
export interface EngineCalls {
  readonly queries: number[];
  readonly uniqueness: number[];
  readonly renderMs: number;
}

/**
 * The room's own ReleaseContext with its engine queries, uniqueness checks and SQL rendering timed
 * on the way through (nothing else changes), so a bench can say where a release path's time went.
 */
export function timedReleaseContext(base: ReleaseContext): { ctx: ReleaseContext; calls: EngineCalls } {
  const calls = { queries: [] as number[], uniqueness: [] as number[], renderMs: 0 };
  const clock = async <T>(work: () => Promise<T>, record: (ms: number) => void): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      record(performance.now() - t0);
    }
  };
  const ctx: ReleaseContext = {
    ...base,
    parser: {
      parse: (sql) => base.parser.parse(sql),
      render: (tree, parsed) =>
        clock(
          () => base.parser.render(tree, parsed),
          (ms) => (calls.renderMs += ms),
        ),
    },
    engine: {
      query: (sql, parameters) =>
        clock(
          () => base.engine.query(sql, parameters),
          (ms) => calls.queries.push(ms),
        ),
      tableExists: (schema, table) => base.engine.tableExists(schema, table),
      tableGeneration: (schema, table) => base.engine.tableGeneration(schema, table),
      liveVersion: (schema, table) => base.engine.liveVersion(schema, table),
      columnIsUnique: (schema, table, column) =>
        clock(
          () => base.engine.columnIsUnique(schema, table, column),
          (ms) => calls.uniqueness.push(ms),
        ),
    },
    audit: (act) => base.audit(act),
  };
  return { ctx, calls };
}
