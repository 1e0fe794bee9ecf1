// The provider's side of an upload in its own process, as `cleanroom upload` runs it: read, count,
// seal and stream to a room already listening. Times uploadFile itself (not Node's start-up).
// node --import tsx bench/support/upload-client.ts <room url> <key file> <dataset> <file>
import { uploadFile } from '../../src/client/upload-file.ts';
import { RoomClient } from '../../src/client/room-client.ts';
import { readPrincipalKeyFile } from '../../src/keys/principal-key-file.ts';
import { cpuSeconds, rssSampler } from './measure.ts';

const [url = '', keyPath = '', dataset = '', file = ''] = process.argv.slice(2);
const key = await readPrincipalKeyFile(keyPath);
const sampler = rssSampler(100);
const cpu0 = cpuSeconds();
const t0 = performance.now();
const result = await uploadFile({ client: new RoomClient(url, key), key, collaboration: 'demo', dataset, file });
const seconds = (performance.now() - t0) / 1000;
const measured = {
  seconds,
  cpuSeconds: cpuSeconds() - cpu0,
  rssPeak: sampler.stop(),
  rows: result.rows,
  bytes: result.plaintextBytes,
};
console.log(`RESULT ${JSON.stringify(measured)}`);
