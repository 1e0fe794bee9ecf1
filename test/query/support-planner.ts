import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCollaboration } from '../../src/policy/load-policies.ts';
import type { Collaboration } from '../../src/policy/collaboration.ts';
import { planQuery, type PlanOptions, type QueryPlan } from '../../src/query/query-plan.ts';
import { boundedDpTree } from '../../src/query/rewrite/dp-bounding.ts';
import { jsonSqlParser } from '../../src/query/sql-parser.ts';
import { planDpNoise } from '../../src/release/dp-noise-plan.ts';
import { DataEngine } from '../../src/store/data-engine.ts';

/**
 * The demo collaboration and the production SqlParser over a locked-down engine that holds no data:
 * plan(sql) is parse → check → rewrite → render, as the room does it, without running anything.
 * In DP mode the rendered SQL is the bounded query, planned at ε = 1 with draw key `dpKey` (default 0).
 */
export async function openPlanner() {
  const staging = await mkdtemp(join(tmpdir(), 'cleanroom-planner-'));
  const engine = await DataEngine.open({
    stagingDirectory: staging,
    memoryLimit: '256MB',
    threads: 1,
    statementTimeoutMs: 5000,
  });
  const parser = jsonSqlParser(engine);
  const collaboration: Collaboration = parseCollaboration(JSON.parse(await readFile('policies/demo.json', 'utf8')));
  const plan = async (
    sql: string,
    adHoc = true,
    options: Partial<PlanOptions> = {},
    dpKey = 0,
  ): Promise<{ plan: QueryPlan; sql?: string }> => {
    const parsed = await parser.parse(sql);
    const plan = planQuery(collaboration, sql, parsed, { adHoc, ...options });
    if (!plan.ok) return { plan };
    if (plan.mode === 'dp') {
      const noise = planDpNoise(collaboration, plan.dp, { epsilon: 1 });
      const grids = noise.aggregates.map((a) => (a.kind === 'sum' || a.kind === 'avg' ? a.input : undefined));
      const tree = boundedDpTree(plan.tree, plan.dp, {
        maxGroups: noise.contribution.maxGroups,
        maxRowsPerUnit: noise.contribution.maxRowsPerUnit,
        grids,
        key: dpKey,
        onePersonPerRow: false,
      });
      return { plan, sql: await parser.render(tree, parsed) };
    }
    return { plan, sql: await parser.render(plan.tree, parsed) };
  };
  return {
    engine,
    parser,
    collaboration,
    plan,
    close: async () => {
      engine.close();
      await rm(staging, { recursive: true, force: true });
    },
  };
}
