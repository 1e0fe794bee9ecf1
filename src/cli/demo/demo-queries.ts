import { RoomRequestError } from '../../client/room-client.ts';
import type { QueryResponse } from '../../room/run-query.ts';
import type { TemplateStatus } from '../../room/template-registry.ts';
import { printAnswer, reviewTemplateAs } from '../commands/query-commands.ts';
import { say, step } from '../output.ts';
import type { DemoContext } from './demo.ts';

const COLLABORATION = 'demo';
const indent = (text: string) => say(text.trimEnd());

const AGE_BY_SEGMENT = {
  name: 'age_band_by_segment',
  collaboration: COLLABORATION,
  description: 'Which Northwind segments reach which Acme age bands.',
  sql: `SELECT c.age_band, p.segment, count(DISTINCT c.email_hash) AS customers
FROM advertiser_customers AS c
JOIN publisher_impressions AS p ON c.email_hash = p.email_hash
WHERE p.device IN ($device, 'ctv')
GROUP BY c.age_band, p.segment
ORDER BY c.age_band, p.segment`,
  parameters: { device: { type: 'enum', values: ['mobile', 'desktop', 'tablet'] } },
};

const DEMO_RUNS: readonly { template: string; params: Record<string, unknown> }[] = [
  { template: 'audience_overlap_by_segment', params: { campaign: 'holiday' } },
  { template: 'reach_and_frequency', params: { from: '2025-10-01', to: '2025-12-31' } },
  { template: 'conversion_lift', params: { campaign: 'spring_sale' } },
  { template: 'purchase_value_by_segment', params: {} },
];

/** Each officer reads the template (as `template show` prints it) and signs the hash they read. */
async function approveEverywhere(ctx: DemoContext, name: string): Promise<TemplateStatus> {
  let status = await ctx.client('acme-analyst').send<TemplateStatus>('GET', `/v1/collaborations/${COLLABORATION}/templates/${name}`);
  for (const member of status.requiredMembers) {
    const officer = member === 'acme' ? 'acme-officer' : 'northwind-officer';
    const shown = await ctx.client(officer).send<TemplateStatus>('GET', `/v1/collaborations/${COLLABORATION}/templates/${name}`);
    status = await reviewTemplateAs(ctx.client(officer), ctx.workspace.keys[officer], COLLABORATION, name, 'approve', shown.hash);
  }
  return status;
}

/** Issue 3's walkthrough: propose, approve, run templates and ad hoc SQL, and see a refusal. */
export async function demoQueries(ctx: DemoContext, first: number): Promise<number> {
  const analyst = ctx.client('acme-analyst');
  step(first, 'An Acme analyst proposes a template; the room checks it and shows officers what it touches');
  const proposed = await analyst.send<TemplateStatus>('POST', `/v1/collaborations/${COLLABORATION}/templates`, AGE_BY_SEGMENT);
  say(`${proposed.name} ${proposed.hash.slice(0, 16)}… reads ${proposed.report.datasets.join(' + ')}; threshold ${proposed.report.threshold.minGroupSize} people (${proposed.report.threshold.rule})`);
  say(`columns touched: ${proposed.report.columns.map((c) => `${c.dataset}.${c.column} (${c.class})`).join(', ')}`);

  step(first + 1, 'Both officers sign approvals over the template hash they reviewed (`template approve --hash`)');
  for (const name of [AGE_BY_SEGMENT.name, ...DEMO_RUNS.map((r) => r.template)]) {
    const status = await approveEverywhere(ctx, name);
    say(`${name.padEnd(28)} ${status.hash.slice(0, 16)}… approved by ${status.reviews.map((r) => r.principal).join(' + ')} → ${status.runnable ? 'runnable' : 'not runnable'}`);
  }

  step(first + 2, 'The analyst runs the templates: only groups of at least 50 people leave the room');
  for (const run of [{ template: AGE_BY_SEGMENT.name, params: { device: 'mobile' } }, ...DEMO_RUNS]) {
    const answer = await analyst.send<QueryResponse>('POST', `/v1/collaborations/${COLLABORATION}/queries`, run);
    say(`\n${run.template} ${JSON.stringify(run.params)}`);
    printAnswer(answer, indent);
  }

  step(first + 3, 'Ad hoc SQL, where both owners allow it, goes through the same checker and threshold');
  const adHoc = "SELECT loyalty_tier, count(*) AS customers, round(avg(purchase_value), 2) AS avg_value FROM advertiser_customers WHERE country = 'GB' GROUP BY loyalty_tier ORDER BY loyalty_tier";
  say(adHoc);
  printAnswer(await analyst.send<QueryResponse>('POST', `/v1/collaborations/${COLLABORATION}/queries`, { sql: adHoc }), indent);

  step(first + 4, 'A query that asks for identifiers is refused, with the rule and the place');
  const leaky = 'SELECT email_hash, sum(purchase_value) FROM advertiser_customers GROUP BY email_hash';
  say(leaky);
  try {
    await analyst.send('POST', `/v1/collaborations/${COLLABORATION}/queries`, { sql: leaky });
    say('!! unexpectedly accepted');
  } catch (error) {
    if (!(error instanceof RoomRequestError)) throw error;
    say(`refused: ${error.status} ${error.code}`);
    for (const d of (error.details.diagnostics ?? []) as { code: string; message: string; position?: { line: number; column: number } }[]) {
      say(`  ${d.code} at line ${d.position?.line ?? '?'}, column ${d.position?.column ?? '?'}: ${d.message}`);
    }
  }
  return first + 5;
}
