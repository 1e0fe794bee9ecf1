import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/audit-entry.ts';
import { verifyAuditChain } from '../../src/audit/verify-audit-chain.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { startTestRoom, uploadDemoDataset, type TestRoom } from '../support/test-room.ts';
import { browserExecutable } from '../support/browser.ts';
import { refusal } from '../support/refusal.ts';

// The officers' console in a real browser (Debian's chromium through playwright-core): an officer
// signs in with a key file, reviews a template and approves it by signing in the page, and the
// analyst's query then runs. Screenshots go to CONSOLE_SCREENSHOTS (docs/console for the README)
// or test-results/console.
const SHOTS = resolve(process.env.CONSOLE_SCREENSHOTS ?? 'test-results/console');
const path = '/v1/collaborations/demo';
const SQL =
  'SELECT p.segment, count(DISTINCT c.email_hash) AS people FROM advertiser_customers c JOIN publisher_impressions ' +
  'p ON c.email_hash = p.email_hash WHERE c.country = $country GROUP BY p.segment';
const proposal = (name: string) => ({
  name,
  collaboration: 'demo',
  description: 'Overlap by segment for one country',
  sql: SQL,
  parameters: { country: { type: 'enum', values: ['GB', 'DE', 'FR', 'NL', 'IE', 'ES', 'US'] } },
});

let t: TestRoom;
interface PageGlobals {
  document: {
    querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
    querySelector(selector: string): unknown;
  };
  location: { hash: string };
}
let browser: Browser;

const keyFile = (key: PrincipalKey) => ({
  name: `${key.name}.key`,
  mimeType: 'application/json',
  buffer: Buffer.from(
    JSON.stringify({
      type: 'cleanroom-ed25519-secret-key',
      name: key.name,
      publicKey: key.publicKeyText,
      secretKey: Buffer.from(key.secretKey).toString('base64'),
    }),
  ),
});

async function signIn(principal: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  (page as Page & { problems?: string[] }).problems = problems;
  await page.goto(`${t.baseUrl}/console`);
  await page.selectOption('#collaboration', 'demo');
  await page.setInputFiles('#keyfile', keyFile(t.keys[principal] as PrincipalKey));
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#nav:not([hidden])');
  return page;
}
const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  t = await startTestRoom({ config: { templatesDirectory: resolve('sql') } });
  await t.acceptAll();
  for (const dataset of ['advertiser_customers', 'publisher_impressions']) await uploadDemoDataset(t, dataset);
  await t.client('acme-analyst').send('POST', `${path}/templates`, proposal('segments_by_country'));
  browser = await chromium.launch({ executablePath: browserExecutable(), args: ['--no-sandbox'] });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** The page answers asynchronously: read what it shows until it matches (or 10 s pass), never once. */
const POLL = { timeout: 10_000 };

describe('the officers’ console, in chromium', { timeout: 120_000 }, () => {
  it('is one page whose scripts are only the room’s own files (strict CSP), and it signs nothing unasked', async () => {
    const response = await fetch(`${t.baseUrl}/console`);
    expect(response.headers.get('content-security-policy')).toMatch(/script-src 'self';/);
    expect(response.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const page = await browser.newPage();
    await page.goto(`${t.baseUrl}/console`);
    await expect.poll(() => page.locator('#collaboration option').allTextContents(), POLL).toEqual(['demo']);
    await page.setInputFiles('#keyfile', {
      name: 'x.key',
      mimeType: 'application/json',
      buffer: Buffer.from('{"type":"something-else"}'),
    });
    await page.click('#signin-form button[type=submit]');
    await expect.poll(() => page.locator('#status').textContent(), POLL).toMatch(/not a Cleanroom secret key/);
    await page.close();
  });

  it('an officer reviews a template (formatted SQL, checker report) and approves it by signing it', async () => {
    const analyst = t.client('acme-analyst');
    const run = { template: 'segments_by_country', params: { country: 'GB' } };
    expect((await refusal(analyst.send('POST', `${path}/queries`, run))).code).toBe('TEMPLATE_NOT_APPROVED');

    for (const officer of ['acme-officer', 'northwind-officer']) {
      const page = await signIn(officer);
      await page.waitForSelector('text=requires your review');
      if (officer === 'acme-officer') await shot(page, 'reviews');
      await page.click('a:has-text("segments_by_country")');
      await page.waitForSelector('#approve');
      const shown = (await page.locator('#review-hash').textContent())?.trim();
      const current = await analyst.send<{ hash: string }>('GET', `${path}/templates/segments_by_country`);
      expect(shown).toBe(current.hash);
      // The SQL is laid out a clause per line, and the checker's report names the columns and the minimum.
      const sql = await page.locator('pre code').first().textContent();
      expect(sql?.split('\n').map((l) => l.trim().split(' ')[0])).toEqual(
        expect.arrayContaining(['SELECT', 'FROM', 'JOIN', 'ON', 'WHERE', 'GROUP']),
      );
      await expect.poll(() => page.locator('text=advertiser_customers').count(), POLL).toBeGreaterThan(0);
      await expect.poll(() => page.locator('dd:has-text("50 distinct")').count(), POLL).toBe(1);
      // A dry run on synthetic rows, with a parameter chosen in the page.
      await page.selectOption('#dry-country', 'DE');
      await page.click('#dry-run');
      await page.waitForSelector('#dry-run-result table');
      await expect
        .poll(() => page.locator('#dry-run-result').textContent(), POLL)
        .toMatch(/groups released, \d+ suppressed/);
      const released = await page.locator('#dry-run-result tbody tr td:nth-child(2)').allTextContents();
      expect(released.length).toBeGreaterThan(0);
      for (const people of released) expect(Number(people)).toBeGreaterThanOrEqual(50);
      if (officer === 'acme-officer') await shot(page, 'review');
      await page.click('#approve');
      await page.waitForSelector('#status.good');
      await expect.poll(() => page.locator('#status').textContent(), POLL).toMatch(/approve of segments_by_country/);
      expect((page as Page & { problems?: string[] }).problems).toEqual([]);
      await page.close();
    }
    const status = await analyst.send<{ runnable: boolean; reviews: { principal: string; decision: string }[] }>(
      'GET',
      `${path}/templates/segments_by_country`,
    );
    expect(status.runnable).toBe(true);
    expect(status.reviews.map((r) => r.principal).sort()).toEqual(['acme-officer', 'northwind-officer']);
    // The review the page signed is in the audit chain, by the officer, and the query now runs.
    const audit = await analyst.send<{ entries: { actor: string; action: string }[] }>(
      'GET',
      `${path}/audit?action=template.approved`,
    );
    expect(audit.entries.map((e) => e.actor).sort()).toEqual(['acme-officer', 'northwind-officer']);
    const answer = await analyst.send<{ rows: unknown[][] }>('POST', `${path}/queries`, run);
    expect(answer.rows.length).toBeGreaterThan(0);
  });

  it('a tampered hash on the page is refused: the room records nothing', async () => {
    await t.client('acme-analyst').send('POST', `${path}/templates`, proposal('segments_again'));
    const page = await signIn('acme-officer');
    await page.goto(`${t.baseUrl}/console#/review/query/segments_again`);
    await page.waitForSelector('#approve');
    const real = (await page.locator('#review-hash').textContent())!.trim();
    const forged = real.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await page.locator('#review-hash').evaluate((element, text) => {
      element.textContent = text;
    }, forged);
    await page.click('#approve');
    await page.waitForSelector('#status.bad');
    const said = await page.locator('#status').textContent();
    expect(said).toMatch(/Refused \(TEMPLATE_HASH_MISMATCH\)/);
    expect(said).not.toContain(real);
    await shot(page, 'tampered-hash-refused');
    await page.close();
    const status = await t
      .client('acme-analyst')
      .send<{ reviews: unknown[] }>('GET', `${path}/templates/segments_again`);
    expect(status.reviews).toEqual([]);
  });

  it('shows the policy, budgets, datasets and a filtered, paged audit trail', async () => {
    // Another member spends on Northwind's dataset: Northwind's officer sees it, by member.
    await t.client('acme-analyst').send('POST', `${path}/queries`, {
      sql: 'SELECT campaign, count(*) AS n FROM publisher_impressions GROUP BY campaign',
      dp: { epsilon: 0.5 },
    });
    const page = await signIn('northwind-officer');
    await page.click('nav a[data-section=policy]');
    await page.waitForSelector('#policy-hash');
    expect((await page.locator('#policy-hash').textContent())?.trim()).toBe(
      (await t.client('acme-analyst').send<{ status: { policyHash: string } }>('GET', path)).status.policyHash,
    );
    await expect.poll(() => page.locator('text=active: accepted by every member').count(), POLL).toBe(1);
    await shot(page, 'policy');
    await page.click('nav a[data-section=budgets]');
    await page.waitForSelector('h2:has-text("Privacy budgets")');
    const spentRow = page.locator('tr:has(td:text-is("publisher_impressions")):has(td:text-is("acme"))');
    await expect.poll(() => spentRow.locator('td').nth(3).textContent(), POLL).toMatch(/^ε 0\.5(,|$)/);
    const spending = await t.client('northwind-officer').send<{
      datasets: { dataset: string; byMember: { member: string; spent: { epsilon: number } }[] }[];
    }>('GET', `${path}/budget/spending`);
    expect(spending.datasets.map((d) => d.dataset)).toEqual(['publisher_impressions']);
    expect(spending.datasets[0]?.byMember).toEqual([
      expect.objectContaining({ member: 'acme', spent: expect.objectContaining({ epsilon: 0.5 }) }),
    ]);
    await shot(page, 'budgets');
    await page.click('nav a[data-section=datasets]');
    await page.waitForSelector('td:has-text("publisher_impressions")');
    await expect.poll(() => page.locator('td:has-text("not uploaded")').count(), POLL).toBe(0);
    await shot(page, 'datasets');
    await page.click('nav a[data-section=audit]');
    await page.waitForSelector('#audit-filters');
    await page.fill('#audit-actor', 'acme-officer');
    await page.click('#audit-filters button[type=submit]');
    // Runs in the page (the CSP forbids evaluating strings there); typed here by hand, without the DOM's types.
    await page.waitForFunction(() => {
      const { document, location } = globalThis as unknown as PageGlobals;
      const cells = Array.from(document.querySelectorAll('tbody tr td:nth-child(3)'));
      return (
        location.hash.includes('actor=acme-officer') &&
        document.querySelector('.pager span') !== null &&
        cells.every((cell) => cell.textContent === 'acme-officer')
      );
    });
    const actors = await page.locator('tbody tr td:nth-child(3)').allTextContents();
    expect(actors.length).toBeGreaterThan(0);
    expect(new Set(actors)).toEqual(new Set(['acme-officer']));
    // Every entry by that actor, as the room counts them from the whole chain.
    const chain = await t.client('acme-analyst').send<{ entries: { actor: string }[] }>('GET', `${path}/audit`);
    expect(actors.length).toBe(chain.entries.filter((e) => e.actor === 'acme-officer').length);
    await expect
      .poll(() => page.locator('.pager span').textContent(), POLL)
      .toMatch(new RegExp(`^${actors.length} matching`));
    await shot(page, 'audit');
    // The export is the whole chain, and it verifies offline with nothing but the room's public key.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const exported = (await readFile(await download.path(), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEntry);
    expect(exported).toEqual(chain.entries);
    expect(verifyAuditChain(exported, t.internals.keys.signing.publicKey)).toMatchObject({ ok: true });
    await page.close();
  });

  it('shows invisible and direction-changing characters in another member’s template as escapes', async () => {
    await t.client('acme-analyst').send('POST', `${path}/templates`, {
      ...proposal('excludes_gb'),
      description: 'Excludes GB (UK) customers',
      sql: SQL.replace('c.country = $country', "c.country <> '\u202EBG\u202C'"),
      parameters: {},
    });
    const page = await signIn('acme-officer');
    await page.goto(`${t.baseUrl}/console#/review/query/excludes_gb`);
    await page.waitForSelector('#hidden-characters');
    const sql = await page.locator('pre code').first().textContent();
    expect(sql).toContain("<> '\\u{202E}BG\\u{202C}'");
    expect(sql).not.toMatch(/[\u202A-\u202E]/);
    await shot(page, 'hidden-characters');
    await page.close();
  });

  it('after the policy file changes: says what changed since the member accepted, and accepts by signing', async () => {
    const before = t.room.collaboration('demo').hash;
    const policyFile = join(t.dir, 'policies', 'demo.json');
    const edited = JSON.parse(await readFile(policyFile, 'utf8')) as {
      datasets: { name: string; rules: { minGroupSize: number } }[];
    };
    edited.datasets.find((d) => d.name === 'publisher_impressions')!.rules.minGroupSize = 40;
    await writeFile(policyFile, JSON.stringify(edited, null, 2));
    await writeFile(join(t.dir, 'policies', 'junk.json'), '{ not json');
    await t.restart();
    const after = t.room.collaboration('demo').hash;
    expect(after).not.toBe(before);

    const page = await signIn('northwind-officer');
    await page.click('nav a[data-section=policy]');
    await page.waitForSelector('#policy-changes');
    await expect.poll(() => page.locator('#policy-changes').textContent(), POLL).toContain(before.slice(0, 12));
    const change = page.locator('tr:has(code:text-is("/datasets/1/rules/minGroupSize"))');
    await expect.poll(() => change.locator('.tag').textContent(), POLL).toBe('loosens');
    await shot(page, 'policy-changed');
    await page.click('#accept');
    await page.waitForSelector('#status.good');
    const { status } = await t.client('northwind-officer').send<{
      status: { policyHash: string; acceptedBy: { member: string }[] };
    }>('GET', path);
    expect(status.policyHash).toBe(after);
    expect(status.acceptedBy.map((a) => a.member)).toEqual(['northwind']);
    await page.close();
  });

  it('says so first when a policy file is quarantined', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${t.baseUrl}/console`);
    await page.waitForSelector('#status.bad');
    await expect
      .poll(() => page.locator('#status').textContent(), POLL)
      .toMatch(/degraded: policy file junk\.json is quarantined \(1 problems/);
    await shot(page, 'quarantined-policy');
    await page.close();
  });
});
