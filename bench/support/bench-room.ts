import { resolve } from 'node:path';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import type { PrincipalKey } from '../../src/keys/principal-key-file.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import { startTestRoom, type TestRoom } from '../../test/support/test-room.ts';

// The room's default (CLEANROOM_THREADS=2); BENCH_ENGINE_THREADS overrides it for experiments.
export const ENGINE_THREADS = Number(process.env.BENCH_ENGINE_THREADS ?? 2);

/** A real room on loopback (the test harness) sized for the large fixtures, with the demo policy active. */
export async function startBenchRoom(): Promise<TestRoom> {
  const room = await startTestRoom({
    config: {
      maxUploadBytes: 20 * 1024 ** 3,
      engine: { memoryLimit: '16GB', threads: ENGINE_THREADS, statementTimeoutMs: 600_000 },
      templatesDirectory: resolve('sql'),
    },
  });
  await room.acceptAll();
  return room;
}

/** Both officers approve the current hash of every template in sql/, over HTTP as in production. */
export async function approveAllTemplates(t: TestRoom): Promise<string[]> {
  const listed = await t
    .client('acme-officer')
    .send<{ templates: { name: string; hash: string; requiredMembers: string[] }[] }>(
      'GET',
      '/v1/collaborations/demo/templates',
    );
  for (const template of listed.templates) {
    for (const officer of ['acme-officer', 'northwind-officer']) {
      const member = officer.split('-')[0] as string;
      if (!template.requiredMembers.includes(member)) continue;
      const key = t.keys[officer] as PrincipalKey;
      await t.client(officer).send('POST', `/v1/collaborations/demo/templates/${template.name}/approvals`, {
        hash: template.hash,
        decision: 'approve',
        signature: toBase64(sign(approvalSigningBytes('demo', template.hash, 'approve'), key.secretKey)),
      });
    }
  }
  return listed.templates.map((tpl) => tpl.name);
}
