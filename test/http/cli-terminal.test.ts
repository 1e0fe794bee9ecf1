import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadFile } from '../../src/client/upload-file.ts';
import { escapeTerminal } from '../../src/cli/escape-terminal.ts';
import { keyFile, runCli } from '../support/cli.ts';
import { customersCsv } from '../support/fixture-csv.ts';
import { HOSTILE, RAW_CONTROL } from '../support/hostile-text.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
const shown = escapeTerminal(HOSTILE);

beforeAll(async () => {
  t = await startTestRoom();
  await t.acceptAll();
  // A partner's dataset whose dimension value is an attack on the analyst's terminal: 120 people, one group.
  const [header, ...rows] = customersCsv(120).trimEnd().split('\n');
  const file = join(t.dir, 'customers.csv');
  await writeFile(
    file,
    `${[
      header,
      ...rows.map((r) => {
        const f = r.split(',');
        f[3] = `"${HOSTILE}"`;
        return f.join(',');
      }),
    ].join('\n')}\n`,
  );
  await uploadFile({
    client: t.client('acme-provider'),
    key: t.keys['acme-provider']!,
    collaboration: 'demo',
    dataset: 'advertiser_customers',
    file,
  });
  await t.client('acme-analyst').send('POST', '/v1/collaborations/demo/templates', {
    name: 'by_country',
    collaboration: 'demo',
    description: HOSTILE,
    parameters: {},
    sql: `SELECT country, count(*) AS n FROM advertiser_customers WHERE country <> '${HOSTILE}' GROUP BY country`,
  });
});
afterAll(async () => t.close());

describe('the CLI in its own process prints partner-controlled text escaped', () => {
  const common = async (principal: string) => [
    '--collab',
    'demo',
    '--url',
    t.baseUrl,
    '--key',
    await keyFile(t, principal),
  ];

  it('a query answer whose dimension value carries escape sequences, CR, LF and a bidi override', async () => {
    const run = await runCli([
      'query',
      ...(await common('acme-analyst')),
      '--sql',
      'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(RAW_CONTROL);
    expect(run.stdout.split('\n')).toContainEqual(
      expect.stringMatching(new RegExp(`^${shown.replace(/[\\[\]]/g, '\\$&')} +120$`)),
    );
  }, 30_000);

  it('template show and template list', async () => {
    const show = await runCli(['template', 'show', ...(await common('acme-officer')), '--name', 'by_country']);
    expect(show.code).toBe(0);
    expect(show.stdout).not.toMatch(RAW_CONTROL);
    expect(show.stdout).toContain(`description:  ${shown}\n`);
    const list = await runCli(['template', 'list', ...(await common('acme-officer'))]);
    expect(list.stdout).toMatch(/^by_country +[0-9a-f]{12} {2}awaiting acme$/m);
  }, 30_000);

  it('a refusal from the room that echoes a name from the SQL', async () => {
    const run = await runCli([
      'query',
      ...(await common('acme-analyst')),
      '--sql',
      `SELECT "${HOSTILE}", count(*) FROM advertiser_customers GROUP BY 1`,
    ]);
    expect(run.code).toBe(3); // refused by a rule
    expect(run.stderr).toMatch(/^refused \(422 QUERY_REFUSED\)/);
    expect(run.stderr).toContain(shown);
    expect(run.stderr).not.toMatch(RAW_CONTROL);
  }, 30_000);
});
