import { createReadStream, createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { TestRoom } from '../../test/support/test-room.ts';
import { demoShape } from './dataset-columns.ts';

/**
 * Loads a plaintext fixture into the room's live table through the room's own engine path
 * (named pipe → DataEngine.loadIncoming → commitIncoming), skipping only the encryption and HTTP
 * around it: the table is the one an upload would produce. The ingest bench times the full upload.
 */
export async function loadThroughPipe(t: TestRoom, dataset: string, file: string): Promise<number> {
  const shape = demoShape(dataset);
  const pipe = await t.internals.staging.newPipe();
  const incoming = `__incoming_${dataset}_${randomBytes(6).toString('hex')}`;
  try {
    const loading = t.internals.engine.loadIncoming(shape, { kind: 'csv', path: pipe }, incoming);
    await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), createWriteStream(pipe));
    const rows = await loading;
    await t.internals.engine.commitIncoming(shape, incoming);
    return rows;
  } finally {
    await t.internals.staging.remove(pipe);
  }
}
