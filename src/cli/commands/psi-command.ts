import { Option, type Command } from 'commander';
import { runPsi, type PsiRunResult } from '../../client/run-psi.ts';
import { signedClient } from '../client-options.ts';
import { collabOption, keyOption, urlOption, withRoomOptions, type CommonOptions } from '../profile.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { print, printError, printJson } from '../output.ts';
import { printRecords, withFormatOptions, type RecordFormat } from '../records.ts';
import type { PsiSessionAnswer } from '../../room/psi-relay.ts';
import { progressBar, type Progress } from '../progress.ts';

export function describePsi(result: PsiRunResult): string {
  const input =
    `${result.rows.toLocaleString('en')} rows → ${result.distinct.toLocaleString('en')} distinct identifiers ` +
    `(${result.invalidRows} invalid, ${result.duplicateRows} duplicates dropped)`;
  const theirs = result.serverSetSize.toLocaleString('en');
  const ours = result.clientSetSize.toLocaleString('en');
  if (result.countedBy === 'room') {
    const sizes = `server set ${theirs}, client set ${ours}`;
    const r = result.release;
    if (r === undefined) return `${input}\n${sizes}; the room counted the intersection and did not release it to you`;
    const [low, high] = r.interval.map((n) => n.toLocaleString('en'));
    return (
      `${input}\nintersection ≈ ${r.count.toLocaleString('en')} (${Math.round(r.confidence * 100)}% interval ` +
      `${low}–${high}; counted by the room with discrete Laplace noise, ε ${r.epsilon}; ${sizes})`
    );
  }
  if (result.intersectionSize === undefined)
    return `${input}\nserved ${theirs} identifiers against ${ours}; only the other member learns the result`;
  const written = result.matchingRows !== undefined ? `; ${result.matchingRows} matching rows written` : '';
  return (
    `${input}\nintersection: ${result.intersectionSize.toLocaleString('en')} shared identifiers ` +
    `(their set ${theirs}, ours ${ours})${written}`
  );
}

export function registerPsiCommand(program: Command): void {
  const psi = program.command('psi').description('private set intersection with another member, relayed by the room');
  for (const side of ['serve', 'join'] as const) {
    psi
      .command(side)
      .description(
        side === 'serve'
          ? 'act as the PSI server: your set is matched, you learn nothing about theirs'
          : 'act as the PSI client: learn the intersection size (or, where allowed, your matching rows)',
      )
      .addOption(collabOption())
      .addOption(keyOption())
      .requiredOption('--file <csv>', 'your identifiers, a CSV file')
      .requiredOption('--column <name>', 'the column of the CSV holding the identifiers')
      .addOption(new Option('--partner <member>', 'open a new session with this member').conflicts('session'))
      .option('--session <id>', 'take part in a session the other member opened')
      .option('--out <csv>', 'with a revealing rule: write your matching rows here')
      .option('--json', 'print the result as JSON on stdout (the session line and progress go to stderr)')
      .option(
        '--exact',
        'opening a size-only session: have the client count the exact size instead of the room’s noisy count ' +
          '(the rule must allow it: exactCount)',
      )
      .addOption(urlOption())
      .action(
        async (o: {
          collab: string;
          key: string;
          file: string;
          column: string;
          partner?: string;
          session?: string;
          out?: string;
          exact?: boolean;
          json?: boolean;
          url: string;
        }) => {
          const { client } = await signedClient(o.url, o.key);
          const bars = new Map<string, Progress>();
          const result = await runPsi({
            client,
            collaboration: o.collab,
            side,
            file: o.file,
            column: o.column,
            ...(o.partner ? { partner: o.partner } : {}),
            ...(o.session ? { session: o.session } : {}),
            ...(o.out ? { out: o.out } : {}),
            ...(o.exact ? { count: 'client' as const } : {}),
            onSession: (s) => {
              const reveals = s.revealIntersection
                ? 'intersection revealed to the client'
                : s.engine === 'native'
                  ? `size counted by the room, ε ${s.epsilon}, released to ${(s.releaseTo ?? []).join(' and ')}`
                  : 'exact size, counted by the client';
              (o.json ? printError : print)(
                `session: ${escapeTerminal(s.id)} (you are the ${escapeTerminal(s.role)}; ${reveals}; ` +
                  `normalisation ${escapeTerminal(s.normalisation)})\n`,
              );
            },
            onProgress: (phase, done, total) => {
              if (!bars.has(phase)) bars.set(phase, progressBar(`psi ${phase}`, 'items'));
              bars.get(phase)?.update(done, total);
            },
          });
          for (const bar of bars.values()) bar.stop();
          if (o.json) printJson(result);
          else print(`${describePsi(result)}\n`);
        },
      );
  }
  withRoomOptions(
    withFormatOptions(
      psi
        .command('sessions')
        .description("list your member's live PSI sessions in the collaboration (state, partner, expiry)"),
    ),
  ).action(async (o: CommonOptions & { format?: RecordFormat; json?: boolean }) => {
    const { client } = await signedClient(o.url, o.key);
    const { sessions } = await client.send<{ sessions: PsiSessionAnswer[] }>(
      'GET',
      `/v1/collaborations/${o.collab}/psi`,
    );
    if (sessions.length === 0 && !o.format && !o.json) return printError('no live PSI sessions\n');
    printRecords(
      o,
      sessions.map((s) => ({
        id: s.id,
        role: s.role,
        server: s.server,
        client: s.client,
        state: s.state,
        revealIntersection: s.revealIntersection,
        expiresAt: new Date(s.expiresAt).toISOString(),
      })),
      {
        columns: ['session', 'you are', 'partner', 'state', 'expires'],
        row: (s) => [s.id, s.role, s.role === 'server' ? s.client : s.server, s.state, s.expiresAt],
      },
    );
  });
  withRoomOptions(
    psi
      .command('cancel')
      .description('end a PSI session now (either member of it); its messages are dropped, the day’s count stays spent')
      .requiredOption('--session <id>', 'the session to end (`psi sessions` lists them)'),
  ).action(async (o: CommonOptions & { session: string }) => {
    const { client } = await signedClient(o.url, o.key);
    const cancelled = await client.send<PsiSessionAnswer & { auditSeq: number }>(
      'DELETE',
      `/v1/collaborations/${o.collab}/psi/${encodeURIComponent(o.session)}`,
    );
    printError(
      `cancelled session ${escapeTerminal(cancelled.id)} (was ${cancelled.state}); audit #${cancelled.auditSeq}\n`,
    );
  });
}
