import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

let t: TestRoom;
beforeAll(async () => {
  t = await startTestRoom();
});
afterAll(async () => t.close());

describe('a policy file that does not validate', () => {
  it('is quarantined and reported by /v1/health; the other collaborations serve', async () => {
    expect(await t.client('acme-officer').getPublic('/v1/health')).toMatchObject({ status: 'ok' });
    const policies = join(t.dir, 'policies');
    const document = t.room.collaboration('demo').document;
    const other = structuredClone(document) as unknown as {
      id: string;
      datasets: { rules: { minGroupSize: unknown } }[];
    };
    other.id = 'broken';
    other.datasets[0]!.rules.minGroupSize = 'fifty';
    await writeFile(join(policies, 'broken.json'), JSON.stringify(other));
    await writeFile(join(policies, 'junk.json'), '{ not json');
    // Sorted after demo.json, so the room already serves "demo" when this second file claims it.
    await writeFile(join(policies, 'zz-second-demo.json'), JSON.stringify(document));
    await t.restart();

    const health = await t.client('acme-officer').getPublic<Record<string, unknown>>('/v1/health');
    expect(health).toMatchObject({
      status: 'degraded',
      quarantinedPolicies: [
        { file: 'broken.json', problems: 1 },
        { file: 'junk.json', problems: 1 },
        { file: 'zz-second-demo.json', problems: 1 },
      ],
    });
    // The problems themselves are for the operator, not the public health route.
    expect(JSON.stringify(health)).not.toMatch(/minGroupSize|fifty/);
    expect(t.room.quarantinedPolicies().find((q) => q.file === 'broken.json')?.problems).toEqual([
      { pointer: '/datasets/0/rules/minGroupSize', message: expect.stringMatching(/integer/) },
    ]);
    // demo still serves; the quarantined collaboration does not exist for anyone.
    const room = await t.client('acme-officer').getPublic<{ collaborations: string[] }>('/v1/room');
    expect(room.collaborations).toEqual(['demo']);
    const { status } = await t
      .client('acme-officer')
      .send<{ status: { policyHash: string } }>('GET', '/v1/collaborations/demo');
    expect(status.policyHash).toBe(t.room.collaboration('demo').hash);
  }, 60_000);
});
