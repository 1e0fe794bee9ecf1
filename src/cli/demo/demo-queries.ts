import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { provenancePath, verifyResultFile, writeProvenance, writeResultFile } from '../../client/result-file.ts';
import { RoomRequestError } from '../../client/room-client.ts';
import { fromBase64, toBase64 } from '../../crypto/bytes.ts';
import { signPortable } from '../../crypto/signatures.ts';
import { approvalSigningBytes } from '../../query/template.ts';
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
  let status = await ctx
    .client('acme-analyst')
    .send<TemplateStatus>('GET', `/v1/collaborations/${COLLABORATION}/templates/${name}`);
  for (const member of status.requiredMembers) {
    // An officer who already signed this hash (in the console) is not asked again.
    if (status.reviews.some((r) => r.member === member)) continue;
    const officer = member === 'acme' ? 'acme-officer' : 'northwind-officer';
    const shown = await ctx
      .client(officer)
      .send<TemplateStatus>('GET', `/v1/collaborations/${COLLABORATION}/templates/${name}`);
    status = await reviewTemplateAs(
      ctx.client(officer),
      ctx.workspace.keys[officer],
      COLLABORATION,
      name,
      'approve',
      shown.hash,
    );
  }
  return status;
}

/**
 * An officer's review as the console does it (src/console/console.js): read the review view, dry-run
 * the template on synthetic rows, then sign the hash shown with tweetnacl (the library the page loads)
 * over the same bytes, and post the same body the page posts.
 */
async function approveAsTheConsoleDoes(
  ctx: DemoContext,
  officer: 'acme-officer' | 'northwind-officer',
  name: string,
): Promise<TemplateStatus> {
  const client = ctx.client(officer);
  const path = `/v1/collaborations/${COLLABORATION}/templates/${name}`;
  const shown = await client.send<TemplateStatus>('GET', path);
  const dry = await client.send<{ rows: unknown[][]; groupsSuppressed: number; synthetic: { people: number } }>(
    'POST',
    `${path}/dry-run`,
    {},
  );
  say(
    `${officer} in the console: dry run of ${name} on ${dry.synthetic.people.toLocaleString('en')} synthetic people ` +
      `per dataset → ${dry.rows.length} groups released, ${dry.groupsSuppressed} suppressed (no stored row read)`,
  );
  const signature = signPortable(
    approvalSigningBytes(COLLABORATION, shown.hash, 'approve'),
    ctx.workspace.keys[officer].secretKey,
  );
  return client.send<TemplateStatus>('POST', `${path}/approvals`, {
    hash: shown.hash,
    decision: 'approve',
    signature: toBase64(signature),
  });
}

/** Issue 3's walkthrough: propose, approve, run templates and ad hoc SQL, and see a refusal. */
export async function demoQueries(ctx: DemoContext, first: number): Promise<number> {
  const analyst = ctx.client('acme-analyst');
  step(first, 'An Acme analyst proposes a template; the room checks it and shows officers what it touches');
  const proposed = await analyst.send<TemplateStatus>(
    'POST',
    `/v1/collaborations/${COLLABORATION}/templates`,
    AGE_BY_SEGMENT,
  );
  say(
    `${proposed.name} ${proposed.hash.slice(0, 16)}… reads ${proposed.report.datasets.join(' + ')}; threshold ` +
      `${proposed.report.threshold.minGroupSize} people (${proposed.report.threshold.rule})`,
  );
  say(`columns touched: ${proposed.report.columns.map((c) => `${c.dataset}.${c.column} (${c.class})`).join(', ')}`);

  step(
    first + 1,
    `Both officers sign approvals over the template hash they reviewed: Acme's in the console's way (${ctx.url}` +
      '/console signs in the page with tweetnacl), the others with `template approve --hash`',
  );
  await approveAsTheConsoleDoes(ctx, 'acme-officer', AGE_BY_SEGMENT.name);
  for (const name of [AGE_BY_SEGMENT.name, ...DEMO_RUNS.map((r) => r.template)]) {
    const status = await approveEverywhere(ctx, name);
    const approvers = status.reviews.map((r) => r.principal).join(' + ');
    say(
      `${name.padEnd(28)} ${status.hash.slice(0, 16)}… approved by ${approvers} ` +
        `→ ${status.runnable ? 'runnable' : 'not runnable'}`,
    );
  }

  step(first + 2, 'The analyst runs the templates: only groups of at least 50 people leave the room');
  for (const run of [{ template: AGE_BY_SEGMENT.name, params: { device: 'mobile' } }, ...DEMO_RUNS]) {
    const answer = await analyst.send<QueryResponse>('POST', `/v1/collaborations/${COLLABORATION}/queries`, run);
    say(`\n${run.template} ${JSON.stringify(run.params)}`);
    printAnswer(answer, indent);
  }

  step(first + 3, 'Ad hoc SQL, where both owners allow it, goes through the same checker and threshold');
  const adHoc =
    'SELECT loyalty_tier, count(*) AS customers, round(avg(purchase_value), 2) AS avg_value ' +
    "FROM advertiser_customers WHERE country = 'GB' GROUP BY loyalty_tier ORDER BY loyalty_tier";
  say(adHoc);
  const adHocAnswer = await analyst.send<QueryResponse>('POST', `/v1/collaborations/${COLLABORATION}/queries`, {
    sql: adHoc,
  });
  printAnswer(adHocAnswer, indent);
  if (!adHocAnswer.dryRun) {
    // As `query --out result.parquet` keeps it, then `cleanroom verify result.parquet --url …` checks it.
    const kept = await mkdtemp(join(tmpdir(), 'cleanroom-demo-result-'));
    try {
      const file = join(kept, 'gb_by_tier.parquet');
      await writeResultFile(file, 'parquet', adHocAnswer, adHocAnswer);
      const room = await analyst.getPublic<{ signingPublicKey: string }>('/v1/room');
      await writeProvenance(file, 'parquet', adHocAnswer, adHocAnswer.audit, room.signingPublicKey);
      const verified = await verifyResultFile(file, fromBase64(room.signingPublicKey, 32));
      say(
        `kept as Parquet with its provenance (${basename(provenancePath(file))}); verified offline: ` +
          `${verified.rows} rows, attested by the room's signed audit entry #${verified.auditSeq} ` +
          `(data versions ${JSON.stringify(verified.details.dataVersions)})`,
      );
    } finally {
      await rm(kept, { recursive: true, force: true });
    }
  }

  step(first + 4, 'Queries that try to single out people are refused, with the rule and the place, or suppressed');
  const attempts = [
    {
      why: 'asks for identifiers',
      sql: 'SELECT email_hash, sum(purchase_value) FROM advertiser_customers GROUP BY email_hash',
    },
    {
      why: 'would make a conversion error (which quotes a value) depend on one pinned person',
      sql:
        "SELECT country, count(*) AS n FROM advertiser_customers WHERE CASE WHEN signup_date = DATE '2025-11-28' " +
        "AND age_band = '55-64' THEN concat('''', loyalty_tier) = 1 ELSE FALSE END GROUP BY country",
    },
    {
      why: 'pins one Acme customer in a view over a view and joins it to every Northwind group',
      sql: `WITH a AS (SELECT email_hash, purchase_value FROM advertiser_customers
               WHERE age_band = '35-44' AND country = 'DE' AND loyalty_tier = 'silver' AND signup_date = '2023-12-11'),
     b AS (SELECT email_hash, purchase_value FROM a)
SELECT p.device, count(DISTINCT b.email_hash) AS acme_people, sum(b.purchase_value) AS purchase_value
FROM publisher_impressions AS p LEFT JOIN b ON p.email_hash = b.email_hash GROUP BY p.device ORDER BY p.device`,
    },
  ];
  for (const attempt of attempts) {
    say(`\n${attempt.why}:\n${attempt.sql}`);
    try {
      const answer = await analyst.send<QueryResponse>('POST', `/v1/collaborations/${COLLABORATION}/queries`, {
        sql: attempt.sql,
      });
      say('released only groups without the pinned person (0 Acme people); the group holding them was suppressed:');
      printAnswer(answer, indent);
    } catch (error) {
      if (!(error instanceof RoomRequestError)) throw error;
      say(`refused: ${error.status} ${error.code}`);
      for (const d of (error.details.diagnostics ?? []) as {
        code: string;
        message: string;
        position?: { line: number; column: number };
      }[]) {
        say(`  ${d.code} at line ${d.position?.line ?? '?'}, column ${d.position?.column ?? '?'}: ${d.message}`);
      }
    }
  }
  return first + 5;
}
