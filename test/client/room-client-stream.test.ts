import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomClient } from '../../src/client/room-client.ts';
import { generateSigningKeyPair, publicKeyText } from '../../src/crypto/signing-keys.ts';

const MiB = 1024 * 1024;
const pair = generateSigningKeyPair();
const key = { ...pair, name: 'tester', publicKeyText: publicKeyText(pair.publicKey) };
/**
 * What the kernel may legitimately hold between a stalled reader and the writer: the receiver's and the sender's
 * socket buffers at their autotuning maximum (32 MiB + 4 MiB on Debian's defaults; a fixed 24 MiB bound failed in CI).
 */
function kernelSocketBuffers(): number {
  const max = (file: string): number => {
    try {
      return Number(readFileSync(file, 'utf8').trim().split(/\s+/).at(-1));
    } catch {
      return 16 * MiB;
    }
  };
  return max('/proc/sys/net/ipv4/tcp_rmem') + max('/proc/sys/net/ipv4/tcp_wmem');
}
let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A room stand-in that reads a little, stalls (a slow room), then reads the rest and answers. */
async function stallingRoom(
  stallAfter: number,
  answer: (received: number) => [number, object],
): Promise<{ url: string; received: () => number; resume: () => void }> {
  let received = 0;
  let stalled = false;
  let resume = (): void => undefined;
  server = createServer((req, res) => {
    req.on('data', (piece: Buffer) => {
      received += piece.length;
      if (received >= stallAfter && !stalled) {
        stalled = true;
        req.pause();
        resume = () => void req.resume();
      }
    });
    req.on('end', () => {
      const [status, body] = answer(received);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`,
    received: () => received,
    resume: () => resume(),
  };
}

describe('RoomClient.stream', () => {
  it('neither reads ahead of the room nor keeps what it sent, so a large upload never sits in memory', async () => {
    const stallAt = 128 * MiB;
    const readAheadBound = kernelSocketBuffers() + 8 * MiB; // + the client's own pipeline of a few 1 MiB pieces
    expect(readAheadBound).toBeLessThan(256 * MiB - stallAt); // or the test could not tell reading ahead from streaming
    const room = await stallingRoom(stallAt, (received) => [200, { received }]);
    const before = process.memoryUsage().arrayBuffers;
    let produced = 0;
    async function* source(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 256; i++) {
        produced += MiB;
        yield new Uint8Array(MiB);
      }
    }
    const upload = new RoomClient(room.url, key).stream<{ received: number }>('PUT', '/v1/upload', source());
    while (room.received() < stallAt) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Stalled after 128 MiB of 256: the client has read ahead only what socket buffers hold...
    expect(produced - room.received()).toBeLessThan(readAheadBound);
    // ...and holds no copy of the 128 MiB already sent (undici's fetch kept it all: nodejs/undici#4058).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(readAheadBound + 16 * MiB);
    room.resume();
    expect(await upload).toEqual({ received: 256 * MiB });
  });

  it("returns the room's refusal when the room answers before reading the whole body", async () => {
    server = createServer((req, res) => {
      req.once('data', () => {
        res
          .writeHead(413, { 'content-type': 'application/json', connection: 'close' })
          .end(JSON.stringify({ error: { code: 'UPLOAD_TOO_LARGE', message: 'too large', details: { maxBytes: 1 } } }));
        req.destroy();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) yield new Uint8Array(MiB);
    }
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await expect(new RoomClient(url, key).stream('PUT', '/v1/upload', endless())).rejects.toMatchObject({
      status: 413,
      code: 'UPLOAD_TOO_LARGE',
    });
  });

  it('gives up with a clear error when the room stops making progress, instead of hanging', async () => {
    server = createServer((req) => req.resume()); // reads everything, never answers
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    async function* small(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1024);
    }
    await expect(new RoomClient(url, key, { idleTimeoutMs: 200 }).stream('PUT', '/v1/upload', small())).rejects.toThrow(
      /no progress for 0.2 s/,
    );
  });
});

describe('RoomClient.sendBytes', () => {
  it("sends a byte body from the caller's buffer, without a second copy of it", async () => {
    const size = 256 * MiB;
    const stallAt = 64 * MiB;
    const room = await stallingRoom(stallAt, (received) => [200, { received }]);
    const body = new Uint8Array(size).fill(7);
    const before = process.memoryUsage().arrayBuffers;
    const sent = new RoomClient(room.url, key).sendBytes('PUT', '/v1/psi/message', body);
    while (room.received() < stallAt) await new Promise((resolve) => setTimeout(resolve, 20));
    // Mid-upload the client holds the body once: undici's fetch copied a typed-array body whole first.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * MiB);
    room.resume();
    expect(JSON.parse(Buffer.from(await sent).toString('utf8'))).toEqual({ received: size });
  });

  it("returns the room's refusal of a body it did not read (busy), as the code the caller retries on", async () => {
    server = createServer((_req, res) => {
      res
        .writeHead(503, { 'content-type': 'application/json', connection: 'close' })
        .end(JSON.stringify({ error: { code: 'PSI_RELAY_BUSY', message: 'busy', details: { retryAfterSeconds: 1 } } }));
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (let i = 0; i < 5; i++)
      await expect(
        new RoomClient(url, key).sendBytes('PUT', '/v1/psi/message', new Uint8Array(64 * MiB)),
      ).rejects.toMatchObject({
        status: 503,
        code: 'PSI_RELAY_BUSY',
        details: { retryAfterSeconds: 1 },
      });
  });

  it('names the address when nothing listens there', async () => {
    await expect(
      new RoomClient('http://127.0.0.1:1', key).sendBytes('PUT', '/v1/psi/message', new Uint8Array(8)),
    ).rejects.toThrow(/Could not reach the room at http:\/\/127.0.0.1:1: nothing is listening there/);
  });
});
