import type { PsiRuleDocument } from '../policy/policy-document.ts';
import { refuseIf } from '../errors/refused-error.ts';
import {
  normaliseIdentifiers,
  type IdentifierNormalisation,
  type NormalisedIdentifiers,
} from '../psi/identifier-normalisation.ts';
import { runPsiClient } from '../psi/psi-client-party.ts';
import { withPool, type PsiPhase } from '../psi/psi-party-options.ts';
import { checkSetSize, engineOf, NATIVE_MAX_SET_SIZE, type PsiCount, type PsiEngine } from '../psi/psi-rules.ts';
import { runPsiServer } from '../psi/psi-server-party.ts';
import type { PsiSessionAnswer } from '../room/psi-relay.ts';
import { countCsvRows, readCsvColumn, streamCsvColumn, writeCsvRows } from '../store/local-files.ts';
import { hashIdentifiers } from '../psi/native-hashing.ts';
import { elementCount } from '../psi/native-messages.ts';
import { httpNativeTransport, httpPsiTransport } from './psi-transport.ts';
import { runNativeClient, runNativeServer } from '../psi/native-parties.ts';
import type { PsiCountRelease } from '../psi/psi-session.ts';
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
  /** opening a size-only session: 'client' asks for the exact count (the rule must allow it) */
  readonly count?: 'room' | 'client';
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
  /** room-counted sessions: who counted, and (for a member the rule releases to) the noisy count */
  readonly countedBy: 'room' | 'client';
  readonly release?: PsiCountRelease;
}

/** What a side must know before it reads its file: its role, the normalisation and the minimum set size. */
interface PsiTerms {
  readonly role: 'server' | 'client';
  /** native: room-counted, the file streamed and hashed in bounded memory; psi.js: read whole. */
  readonly engine: PsiEngine;
  readonly normalisation: IdentifierNormalisation;
  readonly minSetSize: number;
  readonly revealIntersection: boolean;
}

/**
 * The terms of a session not yet opened, from the collaboration's policy as the room serves it;
 * undefined when the policy has no rule for the pair (the room's refusal of the open says so).
 */
async function termsBeforeOpening(
  client: RoomClient,
  collaboration: string,
  partner: string,
  count: PsiCount,
): Promise<PsiTerms | undefined> {
  const { caller, policy } = await client.send<{
    caller: { member: string };
    policy: { psi?: readonly PsiRuleDocument[] };
  }>('GET', `/v1/collaborations/${collaboration}`);
  const rule = (policy.psi ?? []).find(
    (r) => (r.server === caller.member && r.client === partner) || (r.client === caller.member && r.server === partner),
  );
  return (
    rule && {
      role: rule.server === caller.member ? 'server' : 'client',
      engine: engineOf({ revealIntersection: rule.revealIntersection ?? false }, count),
      normalisation: rule.normalisation,
      minSetSize: rule.minSetSize,
      revealIntersection: rule.revealIntersection ?? false,
    }
  );
}

/** Reads, normalises and sizes this side's identifiers, refusing what the rule would refuse later. */
async function readIdentifiers(
  options: PsiRunOptions,
  terms: PsiTerms,
): Promise<{ raw: (string | null)[]; ids: NormalisedIdentifiers }> {
  const raw = await readCsvColumn(options.file, options.column);
  options.onProgress?.('read', raw.length, raw.length);
  const ids = normaliseIdentifiers(raw, terms.normalisation);
  refuseIf(checkSetSize(terms.role, ids.values.length, { minSetSize: terms.minSetSize }));
  return { raw, ids };
}

/**
 * One member's whole PSI run: read its own identifier column, normalise it as the rule says, run
 * its half of the protocol through the room, and (client, if allowed) write its matching rows.
 * Opening a session spends one of the pair's sessions for the day, so the file is read and
 * checked (column, normalisation, minimum set size) before a session is opened.
 */
export async function runPsi(options: PsiRunOptions): Promise<PsiRunResult> {
  const { client, collaboration, partner } = options;
  const expected = options.side === 'serve' ? 'server' : 'client';
  if (!options.session && !partner)
    throw new Error('Name the other member with --partner, or join an existing session with --session.');
  const open = () =>
    client.send<PsiSessionAnswer>('POST', `/v1/collaborations/${collaboration}/psi`, {
      partner,
      ...(options.count ? { count: options.count } : {}),
    });
  let session = options.session
    ? await client.send<PsiSessionAnswer>('GET', `/v1/collaborations/${collaboration}/psi/${options.session}`)
    : undefined;
  // Without a rule for the pair there is nothing to check locally: the room refuses the open
  // (PSI_NOT_ALLOWED) before counting it.
  const terms =
    session ??
    (partner === undefined
      ? undefined
      : await termsBeforeOpening(client, collaboration, partner, options.count ?? 'room')) ??
    (session = await open());
  if (terms.role !== expected) {
    const command = terms.role === 'server' ? 'serve' : 'join';
    throw new Error(`Under this PSI rule your member is the PSI ${terms.role}; use \`psi ${command}\`.`);
  }
  if (options.out && !terms.revealIntersection)
    throw new Error(
      'This PSI rule reveals only the intersection size, so there are no matching rows to write (--out).',
    );
  const opened = async (): Promise<PsiSessionAnswer> => {
    session ??= await open();
    options.onSession?.(session);
    if (
      session.role !== terms.role ||
      session.engine !== terms.engine ||
      session.normalisation !== terms.normalisation ||
      session.minSetSize !== terms.minSetSize
    ) {
      throw new Error(`Session ${session.id} does not have the terms of the collaboration's PSI rule; run again.`);
    }
    return session;
  };
  return terms.engine === 'native' ? runNativeSide(options, terms, opened) : runPsiJsSide(options, terms, opened);
}

/**
 * A room-counted session: the file is streamed, normalised and hashed in bounded memory (32 bytes
 * per distinct identifier, never the column as strings), its size checked, and only then is a
 * session opened and the hashed set blinded under the session's fresh key.
 */
async function runNativeSide(
  options: PsiRunOptions,
  terms: PsiTerms,
  opened: () => Promise<PsiSessionAnswer>,
): Promise<PsiRunResult> {
  return withPool(
    undefined,
    async (pool) => {
      const own = await hashIdentifiers(
        pool,
        streamCsvColumn(options.file, options.column),
        terms.normalisation,
        options.onProgress,
        options.onProgress ? await countCsvRows(options.file) : undefined,
      );
      const distinct = elementCount(own.elements);
      refuseIf(checkSetSize(terms.role, distinct, { minSetSize: terms.minSetSize, maxSetSize: NATIVE_MAX_SET_SIZE }));
      const session = await opened();
      const me = session.role === 'server' ? session.server : session.client;
      const transport = httpNativeTransport(options.client, options.collaboration, session.id, {
        releasedToMe: (session.releaseTo ?? []).includes(me),
      });
      const nativeOptions = {
        minSetSize: session.minSetSize,
        workers: pool,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      };
      const outcome =
        options.side === 'serve'
          ? await runNativeServer(own, transport, nativeOptions)
          : await runNativeClient(own, transport, nativeOptions);
      return {
        session: session.id,
        rows: own.rows,
        distinct,
        invalidRows: own.invalidRows,
        duplicateRows: own.duplicateRows,
        countedBy: 'room',
        serverSetSize: outcome.serverSetSize,
        clientSetSize: outcome.clientSetSize,
        ...(outcome.release ? { release: outcome.release } : {}),
      };
    },
    'native',
  );
}

/** A psi.js session (the exact count, or revealed rows): the column is read whole. */
async function runPsiJsSide(
  options: PsiRunOptions,
  terms: PsiTerms,
  opened: () => Promise<PsiSessionAnswer>,
): Promise<PsiRunResult> {
  const { raw, ids } = await readIdentifiers(options, terms);
  const session = await opened();
  const transport = httpPsiTransport(options.client, options.collaboration, session.id);
  const partyOptions = {
    revealIntersection: session.revealIntersection,
    minSetSize: session.minSetSize,
    ...(session.falsePositiveRate !== undefined ? { falsePositiveRate: session.falsePositiveRate } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  const base = {
    session: session.id,
    rows: raw.length,
    distinct: ids.values.length,
    invalidRows: ids.invalidRows,
    duplicateRows: ids.duplicateRows,
  };
  if (options.side === 'serve') {
    const result = await runPsiServer(ids, transport, partyOptions);
    return { ...base, countedBy: 'client', serverSetSize: result.serverSetSize, clientSetSize: result.clientSetSize };
  }
  const result = await runPsiClient(ids, transport, partyOptions);
  if (options.out) {
    if (!result.indices)
      throw new Error(
        'This PSI rule reveals only the intersection size, so there are no matching rows to write (--out).',
      );
    await writeCsvRows(options.file, result.indices, options.out);
  }
  return {
    ...base,
    countedBy: 'client',
    serverSetSize: result.serverSetSize,
    clientSetSize: result.clientSetSize,
    intersectionSize: result.size,
    ...(result.indices ? { matchingRows: result.indices.length } : {}),
  };
}
