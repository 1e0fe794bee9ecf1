import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestRoom } from './test/support/test-room.ts';
import { uploadFile } from './src/client/upload-file.ts';
const t = await startTestRoom({ config: { templatesDirectory: join(process.cwd(), 'sql') } });
await t.acceptAll();
for (const [d, p] of [['advertiser_customers', 'acme-provider'], ['publisher_impressions', 'northwind-provider']] as const)
  await uploadFile({ client: t.client(p), key: t.keys[p]!, collaboration: 'demo', dataset: d, file: `fixtures/${d}.csv` });
const a = t.client('acme-analyst');
for (const [name, params] of [['audience_overlap_by_segment', { campaign: 'holiday' }], ['reach_and_frequency', { from: '2025-10-01', to: '2025-12-31' }], ['conversion_lift', { campaign: 'spring_sale' }], ['purchase_value_by_segment', {}]] as const) {
  try {
    const dry = await a.send<any>('POST', '/v1/collaborations/demo/queries', { template: name, params, dryRun: true });
    console.log(name, dry.rewrittenSql);
    const st = await a.send<any>('GET', `/v1/collaborations/demo/templates/${name}`);
    console.log(st.runnable, st.requiredMembers);
  } catch (e) { console.log(name, e); }
}
const adhoc = await a.send<any>('POST', '/v1/collaborations/demo/queries', { sql: 'SELECT age_band, count(*) AS n, avg(purchase_value) AS v FROM advertiser_customers GROUP BY age_band ORDER BY age_band' }).catch(e => e);
console.log(JSON.stringify(adhoc));
const bad = await a.send<any>('POST', '/v1/collaborations/demo/queries', { sql: 'SELECT email_hash, count(*) FROM advertiser_customers GROUP BY email_hash' }).catch(e => e);
console.log(JSON.stringify(bad));
await t.close();
