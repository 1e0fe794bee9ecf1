import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { RoomRequestError } from '../../client/room-client.ts';
import { runPsi, type PsiRunResult } from '../../client/run-psi.ts';
import type { QueryResponse } from '../../room/run-query.ts';
import { describePsi } from '../commands/psi-command.ts';
import { printAnswer } from '../commands/query-commands.ts';
import { say, step } from '../output.ts';
import { progressBar, type Progress } from '../progress.ts';
import type { DemoContext } from './demo.ts';

const indent = (text: string) => say(text.trimEnd());

/** Issue 4's walkthrough: a DP template run paid from the budget, until the budget says no. */
export async function demoDifferentialPrivacy(ctx: DemoContext, first: number): Promise<number> {
  step(first, 'Differential privacy: the same template in DP mode, paid from the daily ε budget (3 per dataset)');
  const analyst = ctx.client('acme-analyst');
  const run = { template: 'audience_overlap_by_segment', params: { campaign: 'holiday' }, dp: { epsilon: 1 } };
  for (let i = 1; i <= 4; i++) {
    try {
      const answer = await analyst.send<QueryResponse>('POST', '/v1/collaborations/demo/queries', run);
      say(
        `\nDP run ${i} (ε = 1): each person counts at most once per segment and in at most 4 segments; segments ` +
          `appear only past a noisy threshold`,
      );
      printAnswer(answer, indent);
    } catch (error) {
      if (!(error instanceof RoomRequestError)) throw error;
      say(`\nDP run ${i} refused: ${error.status} ${error.code}: ${error.message}`);
      say(`remaining: ${JSON.stringify(error.details.remaining)}`);
    }
  }
  return first + 1;
}

async function plainIntersection(a: string, b: string): Promise<number> {
  const read = async (file: string) =>
    new Set(
      (await readFile(file, 'utf8'))
        .split('\n')
        .slice(1)
        .map((l) => l.replace(/^"|"$/g, '').normalize('NFC').trim().toLowerCase())
        .filter(Boolean),
    );
  const [x, y] = [await read(a), await read(b)];
  return [...x].filter((v) => y.has(v)).length;
}

/**
 * Issue 5's walkthrough, with issue 14's default: the two members' overlap by PSI. First the room
 * counts it on the native engine and releases it with discrete Laplace noise (the default for a
 * size-only rule); then, because the demo rule allows it, the client computes the exact count with psi.js.
 */
export async function demoPsi(ctx: DemoContext, first: number): Promise<number> {
  step(
    first,
    'Private set intersection: how many customers do Acme and Northwind share, without either list leaving home?',
  );
  const publisher = resolve('fixtures/psi_publisher_emails.csv');
  const advertiser = resolve('fixtures/psi_advertiser_emails.csv');
  const expected = await plainIntersection(advertiser, publisher);
  const roomCounted = await psiPair(ctx, publisher, advertiser, 'room');
  say(
    `   the room saw only doubly-blinded points and both session keys; it audited the release's digest ` +
      `(psi.released) and charged ε ${roomCounted.joined.release?.epsilon} to the pair's PSI budget`,
  );
  const exact = await psiPair(ctx, publisher, advertiser, 'client');
  say(
    `check: a plain set intersection of the two normalised files gives ${expected.toLocaleString('en')} → exact ` +
      `${expected === exact.joined.intersectionSize ? 'match' : 'MISMATCH'}; room-counted ` +
      `${roomCounted.joined.release?.count.toLocaleString('en')} is ${
        (roomCounted.joined.release?.count ?? 0) - expected >= 0 ? '+' : ''
      }${(roomCounted.joined.release?.count ?? 0) - expected} of noise`,
  );
  return first + 1;
}

/** One PSI session between the two demo members: Northwind serves, Acme joins. */
async function psiPair(
  ctx: DemoContext,
  publisher: string,
  advertiser: string,
  count: 'room' | 'client',
): Promise<{ served: PsiRunResult; joined: PsiRunResult }> {
  let announce!: (id: string) => void;
  const opened = new Promise<string>((r) => {
    announce = r;
  });
  const bars = new Map<string, Progress>();
  const onProgress = (who: string) => (phase: string, done: number, total: number) => {
    const label = `   ${who} ${phase}`;
    if (!bars.has(label)) bars.set(label, progressBar(label, 'items'));
    bars.get(label)?.update(done, total);
  };
  const [served, joined] = await Promise.all([
    runPsi({
      client: ctx.client('northwind-provider'),
      collaboration: 'demo',
      side: 'serve',
      partner: 'acme',
      file: publisher,
      column: 'email',
      count,
      onSession: (s) => {
        const how =
          s.engine === 'native'
            ? `counted by the room on native X25519, ε ${s.epsilon}, released to ${(s.releaseTo ?? []).join(' and ')}`
            : 'exact size counted by the client, psi.js';
        say(`\nnorthwind opened session ${s.id} (${how}; ${s.normalisation} normalisation, min set ${s.minSetSize})`);
        announce(s.id);
      },
      onProgress: onProgress('northwind'),
    }),
    opened.then((session) =>
      runPsi({
        client: ctx.client('acme-analyst'),
        collaboration: 'demo',
        side: 'join',
        session,
        file: advertiser,
        column: 'email',
        onProgress: onProgress('acme'),
      }),
    ),
  ]);
  for (const bar of bars.values()) bar.stop();
  say(`northwind (server): ${describePsi(served).replace('\n', '\n   ')}`);
  say(`acme (client):      ${describePsi(joined).replace('\n', '\n   ')}`);
  return { served, joined };
}
