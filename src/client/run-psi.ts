import { normaliseIdentifiers } from '../psi/identifier-normalisation.ts';
import { runPsiClient } from '../psi/psi-client-party.ts';
import type { PsiPhase } from '../psi/psi-party-options.ts';
import { runPsiServer } from '../psi/psi-server-party.ts';
import type { PsiSessionAnswer } from '../room/psi-relay.ts';
import { readCsvColumn, writeCsvRows } from '../store/local-files.ts';
import { httpPsiTransport } from './psi-transport.ts';
import type { RoomClient } from './room-client.ts';

export interface PsiRunOptions {
  readonly client: RoomClient;
  readonly collaboration: string;
  /** serve = the PSI server member of the rule; join = the client member, who learns the result */
  readonly side: 'serve' | 'join';
  /** an existing session to take part in; without it, a new session with `partner` is opened */
  readonly session?: string;
  readonly partner?: string;
  readonly file: string;
  readonly column: string;
  /** with revealed intersections: write the caller's matching rows here */
  readonly out?: string;
  readonly onSession?: (session: PsiSessionAnswer) => void;
  readonly onProgress?: (phase: PsiPhase | 'read', done: number, total: number) => void;
}

export interface PsiRunResult {
  readonly session: string;
  readonly rows: number;
  readonly distinct: number;
  readonly invalidRows: number;
  readonly duplicateRows: number;
  readonly serverSetSize: number;
  readonly clientSetSize: number;
  /** the client's answer: distinct identifiers both members hold */
  readonly intersectionSize?: number;
  readonly matchingRows?: number;
}

/**
 * One member's whole PSI run: read its own identifier column, normalise it as the rule says, run
 * its half of the protocol through the room, and (client, if allowed) write its matching rows.
 */
export async function runPsi(options: PsiRunOptions): Promise<PsiRunResult> {
  const { client, collaboration } = options;
  let session: PsiSessionAnswer;
  if (options.session) session = await client.send<PsiSessionAnswer>('GET', `/v1/collaborations/${collaboration}/psi/${options.session}`);
  else {
    if (!options.partner) throw new Error('Name the other member with --partner, or join an existing session with --session.');
    session = await client.send<PsiSessionAnswer>('POST', `/v1/collaborations/${collaboration}/psi`, { partner: options.partner });
  }
  options.onSession?.(session);
  const expected = options.side === 'serve' ? 'server' : 'client';
  if (session.role !== expected) throw new Error(`In this session your member is the PSI ${session.role}; use \`psi ${session.role === 'server' ? 'serve' : 'join'}\`.`);

  const raw = await readCsvColumn(options.file, options.column);
  options.onProgress?.('read', raw.length, raw.length);
  const ids = normaliseIdentifiers(raw, session.normalisation);
  const transport = httpPsiTransport(client, collaboration, session.id);
  const partyOptions = {
    revealIntersection: session.revealIntersection,
    minSetSize: session.minSetSize,
    ...(session.falsePositiveRate !== undefined ? { falsePositiveRate: session.falsePositiveRate } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  const base = { session: session.id, rows: raw.length, distinct: ids.values.length, invalidRows: ids.invalidRows, duplicateRows: ids.duplicateRows };
  if (options.side === 'serve') {
    const result = await runPsiServer(ids, transport, partyOptions);
    return { ...base, serverSetSize: result.serverSetSize, clientSetSize: result.clientSetSize };
  }
  const result = await runPsiClient(ids, transport, partyOptions);
  if (options.out) {
    if (!result.indices) throw new Error('This PSI rule reveals only the intersection size, so there are no matching rows to write (--out).');
    await writeCsvRows(options.file, result.indices, options.out);
  }
  return {
    ...base, serverSetSize: result.serverSetSize, clientSetSize: result.clientSetSize, intersectionSize: result.size,
    ...(result.indices ? { matchingRows: result.indices.length } : {}),
  };
}
