import { toBase64 } from '../../src/crypto/bytes.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { approvalSigningBytes } from '../../src/query/template.ts';
import type { TestRoom } from './test-room.ts';

/** An officer's signed review of a template's current hash. */
export async function review(
  t: TestRoom,
  officer: string,
  name: string,
  decision: 'approve' | 'reject' = 'approve',
  reason?: string,
  hash?: string,
) {
  const current =
    hash ?? (await t.client(officer).send<{ hash: string }>('GET', `/v1/collaborations/demo/templates/${name}`)).hash;
  return t
    .client(officer)
    .send<{ runnable: boolean; reviews: unknown[] }>('POST', `/v1/collaborations/demo/templates/${name}/approvals`, {
      hash: current,
      decision,
      ...(reason ? { reason } : {}),
      signature: toBase64(sign(approvalSigningBytes('demo', current, decision), t.keys[officer]!.secretKey)),
    });
}
