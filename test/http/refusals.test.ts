import { readdirSync, readlinkSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../src/auth/request-signature.ts';
import { sha256Hex } from '../../src/crypto/hashing.ts';
import { generateSigningKeyPair, publicKeyText } from '../../src/crypto/signing-keys.ts';
import { customersCsv } from '../support/fixture-csv.ts';
import { putEnvelope, sealedEnvelope } from '../support/sealed-upload.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';
import { refusal } from '../support/refusal.ts';
import { inProcessFetch } from '../support/in-process-fetch.ts';
import type { RoomRequestError } from '../../src/client/room-client.ts';

let t: TestRoom;

/** What must not change when an upload is refused: version, rows, audit length, the data itself. */
async function snapshot() {
  const info = await t
    .client('acme-officer')
    .send<{ current: { version: number; envelopeSha256: string } }>(
      'GET',
      '/v1/collaborations/demo/datasets/advertiser_customers',
    );
  const audit = await t.client('acme-officer').send<{ entries: unknown[] }>('GET', '/v1/collaborations/demo/audit');
  const data = await t.internals.engine.query('SELECT count(*), sum(purchase_value) FROM demo.advertiser_customers');
  return { current: info.current, auditLength: audit.entries.length, data: data.rows };
}

const codeOf = async (response: Response): Promise<string> =>
  ((await response.json()) as { error: { code: string } }).error.code;
// Requests a client library would never send, handed to the app in process.
const raw = (path: string, init: RequestInit = {}) => inProcessFetch(t.app)(`http://room${path}`, init);

beforeAll(async () => {
  t = await startTestRoom({ config: { maxUploadBytes: 200_000 } });
  await t.acceptAll();
  await putEnvelope(
    t,
    'acme-provider',
    await sealedEnvelope(t, t.keys['acme-provider']!, customersCsv(100), { version: 1 }),
  );
});
afterAll(async () => t.close());

describe('signed requests', () => {
  const path = '/v1/collaborations/demo';

  it('answer health and room keys unsigned, and nothing else', async () => {
    expect((await raw('/v1/health')).status).toBe(200);
    expect(await (await raw('/v1/room')).json()).toHaveProperty('sealingPublicKey');
    const unsigned = await raw(path);
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: { code: 'AUTH_MISSING' } });
  });

  it('refuse an unknown key', async () => {
    const stranger = generateSigningKeyPair();
    const headers = signRequest(
      { publicKeyText: publicKeyText(stranger.publicKey), secretKey: stranger.secretKey },
      'GET',
      path,
      sha256Hex(''),
    );
    const response = await raw(path, { headers });
    expect(response.status).toBe(401);
    expect(await codeOf(response)).toBe('AUTH_UNKNOWN_KEY');
  });

  it('refuse a replayed nonce, a stale timestamp, a forged signature and another path', async () => {
    const key = t.keys['acme-analyst']!;
    const headers = signRequest(key, 'GET', path, sha256Hex(''));
    expect((await raw(path, { headers })).status).toBe(200);
    const replay = await raw(path, { headers });
    expect([replay.status, await codeOf(replay)]).toEqual([401, 'AUTH_REPLAYED']);

    const stale = await raw(path, { headers: signRequest(key, 'GET', path, sha256Hex(''), Date.now() - 10 * 60_000) });
    expect([stale.status, await codeOf(stale)]).toEqual([401, 'AUTH_STALE']);

    const forged = signRequest(t.keys['northwind-analyst']!, 'GET', path, sha256Hex(''));
    forged['x-cleanroom-key'] = key.publicKeyText;
    const forgedAnswer = await raw(path, { headers: forged });
    expect([forgedAnswer.status, await codeOf(forgedAnswer)]).toEqual([401, 'AUTH_BAD_SIGNATURE']);

    const elsewhere = await raw('/v1/collaborations/demo/audit', {
      headers: signRequest(key, 'GET', path, sha256Hex('')),
    });
    expect([elsewhere.status, await codeOf(elsewhere)]).toEqual([401, 'AUTH_BAD_SIGNATURE']);
  });

  it('refuse a body other than the one signed', async () => {
    const key = t.keys['acme-officer']!;
    const signed = JSON.stringify({ policyHash: '0'.repeat(64), signature: 'x' });
    const headers = {
      ...signRequest(key, 'POST', `${path}/acceptances`, sha256Hex(signed)),
      'content-type': 'application/json',
    };
    const response = await raw(`${path}/acceptances`, { method: 'POST', headers, body: signed.replace('x', 'y') });
    expect([response.status, await codeOf(response)]).toEqual([401, 'AUTH_BODY_MISMATCH']);
  });

  it('refuse text no canonical hash can hold (a lone surrogate), saying where, before anything is stored', async () => {
    const error = await t
      .client('acme-analyst')
      .send('POST', `${path}/templates`, {
        name: 'lonely',
        collaboration: 'demo',
        description: 'half an emoji: \ud83d',
        sql: 'SELECT country, count(*) AS n FROM advertiser_customers GROUP BY country',
        parameters: {},
      })
      .catch((e: RoomRequestError) => e);
    expect(error).toMatchObject({ status: 400, code: 'INVALID_TEXT', details: { pointer: '/description' } });
    expect(await refusal(t.client('acme-analyst').send('GET', `${path}/templates/lonely`))).toMatchObject({
      status: 404,
    });
  });

  it('refuse a valid key without the role (403), and name the missing role', async () => {
    const error = await t
      .client('acme-analyst')
      .send('POST', `${path}/acceptances`, { policyHash: t.room.collaboration('demo').hash, signature: 'AAAA' })
      .catch((e: RoomRequestError) => e);
    expect(error).toMatchObject({ status: 403, code: 'ROLE_REQUIRED', details: { requiredRole: 'officer' } });
  });

  it('refuse an acceptance of a stale policy hash', async () => {
    expect(
      await refusal(
        t.client('acme-officer').send('POST', `${path}/acceptances`, { policyHash: 'a'.repeat(64), signature: 'AAAA' }),
      ),
    ).toEqual({ status: 409, code: 'POLICY_HASH_MISMATCH' });
  });

  it('answer errors without stacks', async () => {
    const response = await raw('/v1/nothing-here');
    const text = await response.text();
    expect(text).not.toMatch(/at .*\.ts:\d+/);
  });
});

describe('refused uploads leave the previous version intact', () => {
  const provider = () => t.keys['acme-provider']!;

  it('tampered ciphertext', async () => {
    const before = await snapshot();
    const bytes = Uint8Array.from(await sealedEnvelope(t, provider(), customersCsv(100, { seed: 9 }), { version: 2 }));
    bytes[3000] = (bytes[3000] as number) ^ 0x40;
    expect(await refusal(putEnvelope(t, 'acme-provider', bytes))).toEqual({ status: 422, code: 'ENVELOPE_TAMPERED' });
    expect(await snapshot()).toEqual(before);
  });

  it('truncated ciphertext', async () => {
    const before = await snapshot();
    const bytes = await sealedEnvelope(t, provider(), customersCsv(100, { seed: 9 }), { version: 2 });
    expect(await refusal(putEnvelope(t, 'acme-provider', bytes.subarray(0, bytes.length - 700)))).toEqual({
      status: 422,
      code: 'ENVELOPE_TAMPERED',
    });
    expect(await snapshot()).toEqual(before);
  });

  it('a replayed manifest (an old version sent again)', async () => {
    const before = await snapshot();
    const bytes = await sealedEnvelope(t, provider(), customersCsv(100, { seed: 3 }), { version: 1 });
    expect(await refusal(putEnvelope(t, 'acme-provider', bytes))).toEqual({
      status: 409,
      code: 'UPLOAD_STALE_VERSION',
    });
    expect(await snapshot()).toEqual(before);
  });

  it('a manifest holding a lone surrogate, which nothing can sign: malformed, not a crash', async () => {
    const before = await snapshot();
    const lonely = await sealedEnvelope(t, provider(), customersCsv(100, { seed: 4 }), {
      version: 2,
      manifest: { collaboration: 'demo\ud800' },
      signature: 'A'.repeat(88),
    });
    expect(await refusal(putEnvelope(t, 'acme-provider', lonely))).toEqual({ status: 400, code: 'ENVELOPE_MALFORMED' });
    expect(await snapshot()).toEqual(before);
  });

  it('a manifest that lies about the row count, or is signed by another key', async () => {
    const before = await snapshot();
    const lying = await sealedEnvelope(t, provider(), customersCsv(100, { seed: 4 }), {
      version: 2,
      manifest: { rows: 99 },
    });
    expect(await refusal(putEnvelope(t, 'acme-provider', lying))).toEqual({
      status: 422,
      code: 'UPLOAD_MANIFEST_MISMATCH',
    });
    const foreign = await sealedEnvelope(t, t.keys['northwind-provider']!, customersCsv(100, { seed: 4 }), {
      version: 2,
    });
    expect(await refusal(putEnvelope(t, 'acme-provider', foreign))).toEqual({
      status: 403,
      code: 'UPLOAD_SIGNER_MISMATCH',
    });
    expect(await snapshot()).toEqual(before);
  });

  it('malformed CSV inside a valid envelope', async () => {
    const before = await snapshot();
    const bad = await sealedEnvelope(t, provider(), `${customersCsv(50)}"unterminated,quote\n`, { version: 2 });
    expect(await refusal(putEnvelope(t, 'acme-provider', bad))).toEqual({ status: 422, code: 'UPLOAD_MALFORMED_DATA' });
    expect(await snapshot()).toEqual(before);
  });

  it('a body over the configured limit', async () => {
    const before = await snapshot();
    const big = await sealedEnvelope(t, provider(), customersCsv(3000), { version: 2, chunkSize: 64 * 1024 });
    expect(big.length).toBeGreaterThan(200_000);
    expect(await refusal(putEnvelope(t, 'acme-provider', big))).toEqual({ status: 413, code: 'UPLOAD_TOO_LARGE' });
    expect(await snapshot()).toEqual(before);
  });

  it('plain bytes that are not an envelope', async () => {
    const before = await snapshot();
    expect(await refusal(putEnvelope(t, 'acme-provider', new TextEncoder().encode(customersCsv(5))))).toEqual({
      status: 400,
      code: 'ENVELOPE_MALFORMED',
    });
    expect(await snapshot()).toEqual(before);
  });

  it('and none leaves a file open: every partial envelope is closed, not left to the garbage collector', async () => {
    const open = readdirSync('/proc/self/fd').map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    });
    expect(open.filter((target) => target.includes(t.config.dataDirectory) && target.includes('.partial'))).toEqual([]);
  });

  it('and a good upload still goes through afterwards', async () => {
    const ok = await putEnvelope(
      t,
      'acme-provider',
      await sealedEnvelope(t, provider(), customersCsv(77), { version: 2 }),
    );
    expect(ok).toMatchObject({ version: 2, rows: 77 });
  });
});
