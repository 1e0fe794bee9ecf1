import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonSqlParser, type SqlParser } from '../../src/query/sql-parser.ts';
import { DataEngine } from '../../src/store/data-engine.ts';

/** A locked-down engine with no data, its SQL parser, and a close that removes its staging directory. */
export async function openScratchEngine(
  name: string,
): Promise<{ engine: DataEngine; parser: SqlParser; close: () => Promise<void> }> {
  const staging = await mkdtemp(join(tmpdir(), `cleanroom-${name}-`));
  const engine = await DataEngine.open({
    stagingDirectory: staging,
    memoryLimit: '256MB',
    threads: 1,
    statementTimeoutMs: 5000,
  });
  return {
    engine,
    parser: jsonSqlParser(engine),
    close: async () => {
      engine.close();
      await rm(staging, { recursive: true, force: true });
    },
  };
}
