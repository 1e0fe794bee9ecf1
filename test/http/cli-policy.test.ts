import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
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
});
