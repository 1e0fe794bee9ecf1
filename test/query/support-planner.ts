import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCollaboration } from '../../src/policy/load-policies.ts';
import type { Collaboration } from '../../src/policy/collaboration.ts';
import { planQuery, type QueryPlan } from '../../src/query/query-plan.ts';
import { treeToJson, type SerializedSql } from '../../src/query/sql-tree.ts';
import { DataEngine } from '../../src/store/data-engine.ts';

/** The demo collaboration and a locked-down engine used only as DuckDB's parser and printer. */
export async function openPlanner() {
  const staging = await mkdtemp(join(tmpdir(), 'cleanroom-planner-'));
  const engine = await DataEngine.open({ stagingDirectory: staging, memoryLimit: '256MB', threads: 1, statementTimeoutMs: 5000 });
  const collaboration: Collaboration = parseCollaboration(JSON.parse(await readFile('policies/demo.json', 'utf8')));
  const plan = async (sql: string, adHoc = true): Promise<{ plan: QueryPlan; sql?: string }> => {
    const serialized = JSON.parse(await engine.serialize(sql)) as SerializedSql & { statements?: { node: unknown }[] };
    const plan = planQuery(collaboration, sql, serialized, { adHoc });
    if (!plan.ok) return { plan };
    const rendered = await engine.deserialize(treeToJson({ ...serialized, statements: [{ ...serialized.statements?.[0], node: plan.tree }] }));
    return { plan, sql: rendered };
  };
  return { engine, collaboration, plan, close: async () => { engine.close(); await rm(staging, { recursive: true, force: true }); } };
}
