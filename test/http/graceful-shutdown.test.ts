import { request } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signRequest } from '../../src/auth/request-signature.ts';
import { serveRoom } from '../../src/cli/serve.ts';
import { toBase64 } from '../../src/crypto/bytes.ts';
import { sha256Hex } from '../../src/crypto/hashing.ts';
import { sign } from '../../src/crypto/signatures.ts';
import { createLogger } from '../../src/log/logger.ts';
import { acceptanceSigningBytes } from '../../src/room/policy-acceptance.ts';
import { demoPolicyWithFreshKeys } from '../support/test-room.ts';

// Issue #12: a shutdown lets a request in flight finish (here an officer's acceptance whose body is
// still on its way when the room is told to stop), refuses new connections, and then closes the room.
describe('graceful shutdown', () => {
  it('finishes the request in flight, then stops', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cleanroom-graceful-'));
    try {
      const { policy, keys } = await demoPolicyWithFreshKeys();
      await mkdir(join(dir, 'policies'));
      await writeFile(join(dir, 'policies', 'demo.json'), JSON.stringify(policy));
      const running = await serveRoom(createLogger({ level: 'silent', pretty: false }), {
        port: 0,
        config: {
          dataDirectory: join(dir, 'data'),
          policiesDirectory: join(dir, 'policies'),
          templatesDirectory: join(dir, 'sql'),
        },
      });
      const officer = keys['acme-officer']!;
      const hash = running.room.collaboration('demo').hash;
      const body = JSON.stringify({
        policyHash: hash,
        signature: toBase64(sign(acceptanceSigningBytes('demo', hash), officer.secretKey)),
      });
      const path = '/v1/collaborations/demo/acceptances';
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${running.url}${path}`, {
          method: 'POST',
          headers: {
            ...signRequest(officer, 'POST', path, sha256Hex(Buffer.from(body))),
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
          },
        });
        req.on('response', (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        });
        req.on('error', reject);
        req.write(body.slice(0, 10)); // the request is in flight: headers and the start of its body
        setTimeout(() => req.end(body.slice(10)), 300);
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      let stopped = false;
      const stopping = running.stop(5_000).then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 50));
      // New connections are refused while the one in flight is still served.
      await expect(fetch(`${running.url}/v1/health`)).rejects.toThrow();
      expect(stopped).toBe(false);
      const done = await answer;
      expect(done.status).toBe(201);
      expect(JSON.parse(done.body)).toMatchObject({ acceptedBy: [{ member: 'acme', principal: 'acme-officer' }] });
      await stopping;
      expect(stopped).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
