import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyFile, runCli } from '../support/cli.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
beforeAll(async () => {
  t = await startTestRoom();
});
afterAll(async () => t.close());

describe('policy as code, offline', () => {
  it('hashes a policy file as the room does (the hash officers sign), and validates with pointers', async () => {
    const file = join(t.dir, 'policy.json');
    const document = t.room.collaboration('demo').document;
    await writeFile(file, JSON.stringify(document, null, 2));
    const { status } = await t
      .client('acme-officer')
      .send<{ status: { policyHash: string } }>('GET', '/v1/collaborations/demo');
    const hashed = await runCli(['policy', 'hash', file]);
    expect(hashed.stdout.trim()).toBe(status.policyHash);

    const broken = join(t.dir, 'broken.json');
    const bad = structuredClone(document) as unknown as { datasets: { rules: { minGroupSize: unknown } }[] };
    bad.datasets[1]!.rules.minGroupSize = 'fifty';
    await writeFile(broken, JSON.stringify(bad));
    const checked = await runCli(['policy', 'validate', broken, '--json']);
    expect(checked.code).toBe(1);
    expect(JSON.parse(checked.stdout)).toEqual({
      valid: false,
      problems: [{ pointer: '/datasets/1/rules/minGroupSize', message: expect.stringMatching(/integer/) }],
    });

    const diffed = await runCli(['policy', 'diff', file, broken]);
    expect(diffed.code).toBe(1);
    expect(diffed.stderr).toMatch(/broken\.json#\/datasets\/1\/rules\/minGroupSize/);
    const same = await runCli(['policy', 'diff', file, file, '--json']);
    expect(JSON.parse(same.stdout)).toEqual({ old: status.policyHash, new: status.policyHash, changes: [] });
  }, 60_000);

  it('status summarises the policy; accept without --hash shows it and its hash, and signs nothing', async () => {
    const key = await keyFile(t, 'acme-officer');
    const room = ['--collab', 'demo', '--key', key, '--url', t.baseUrl];
    const status = await runCli(['status', ...room]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^dataset advertiser_customers \(owner acme, region eu-west, kept \d+ days\)$/m);
    expect(status.stdout).toMatch(/aggregates: groups of at least 50 people/);
    expect(status.stdout).toMatch(/lends per person: impressions \(count \[0, 20\]\)/);
    expect(status.stdout).toMatch(
      new RegExp(
        '^PSI northwind serves acme: its size counted by the room with ε 0.5 noise per session ' +
          '\\(budget ε 5\\), to acme and northwind \\(or, if the session asks, its exact size',
        'm',
      ),
    );
    const hash = t.room.collaboration('demo').hash;
    expect(status.stdout).toContain(`policy hash ${hash}`);
    expect(status.stdout).toMatch(/accepted by no one yet; awaiting acme, northwind/);

    const unsigned = await runCli(['accept', ...room]);
    expect(unsigned.code).toBe(2);
    expect(unsigned.stdout).toContain(`policy hash ${hash}`);
    expect(unsigned.stderr).toContain(`--hash ${hash.slice(0, 12)}`);
    const after = await t
      .client('acme-officer')
      .send<{ status: { acceptedBy: unknown[] } }>('GET', '/v1/collaborations/demo');
    expect(after.status.acceptedBy).toEqual([]);
  }, 60_000);

  it('audit --json is one JSON document; --out exports NDJSON that audit-verify checks offline', async () => {
    await t.acceptAll();
    const key = await keyFile(t, 'northwind-officer');
    const room = ['--collab', 'demo', '--key', key, '--url', t.baseUrl];
    const listed = await runCli(['audit', ...room, '--json']);
    const entries = JSON.parse(listed.stdout) as { seq: number; action: string }[];
    expect(entries.map((e) => e.action)).toContain('policy.accepted');
    expect(listed.stderr).toMatch(/chain verified/);
    const file = join(t.dir, 'audit.ndjson');
    await runCli(['audit', ...room, '--out', file]);
    const { signingPublicKey } = await t.client('acme-officer').getPublic<{ signingPublicKey: string }>('/v1/room');
    const verified = await runCli(['audit-verify', '--file', file, '--room-key', signingPublicKey]);
    expect(verified.stdout).toMatch(new RegExp(`chain verified: ${entries.length} entries`));
    // An entry edited after export breaks the chain, and the exit code says so.
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    lines[0] = lines[0]!.replace('"policy.accepted"', '"policy.rejected"');
    await writeFile(file, `${lines.join('\n')}\n`);
    const broken = await runCli(['audit-verify', '--file', file, '--url', t.baseUrl]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/CHAIN BROKEN at 1/);
  }, 60_000);
});
