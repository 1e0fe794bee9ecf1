import loadPsi from '@openmined/psi.js';
import { randomBytes } from 'node:crypto';
import { decodeRequest, encodeRawSetup, encodeResponse } from './src/psi/psi-protobuf.ts';
import { sortPacked } from './src/psi/packed-elements.ts';
const mode = process.argv[2];
const N = Number(process.argv[3] ?? 1_330_000);
const psi = await loadPsi();
const client = psi.client.createWithNewKey(false);
const inputs = Array.from({ length: 20000 }, (_, i) => `user${i}@example.com`);
const req = decodeRequest(client.createRequest(inputs).serializeBinary()).elements;
const setupPacked = new Uint8Array(N * 33);
for (let i = 0; i < N; i++) { const b = randomBytes(33); b[0] = 2; setupPacked.set(b, i * 33); }
const sorted = sortPacked([setupPacked]);
const setupBytes = encodeRawSetup(sorted);
const mem = () => `rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)}`;
console.log('before', mem());
const t0 = Date.now();
let peak = 0;
const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
for (let round = 0; round < 4; round++) {
  const respBytes = encodeResponse(req);
  let size;
  if (mode === 'proto') {
    const setup = psi.serverSetup.deserializeBinary(setupBytes);
    size = client.getIntersectionSize(setup, psi.response.deserializeBinary(respBytes));
  } else {
    size = client.getIntersectionSize({ serializeBinary: () => setupBytes }, { serializeBinary: () => respBytes });
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(round, size, mem(), Date.now() - t0, 'ms');
}
clearInterval(timer);
console.log('peak', (peak / 2 ** 20).toFixed(0));
