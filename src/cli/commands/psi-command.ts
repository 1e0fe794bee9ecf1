import type { Command } from 'commander';
import { runPsi, type PsiRunResult } from '../../client/run-psi.ts';
import { signedClient } from '../client-options.ts';
import { collabOption, keyOption, urlOption } from '../profile.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { print } from '../output.ts';
import { progressBar, type Progress } from '../progress.ts';

export function describePsi(result: PsiRunResult): string {
  const input =
    `${result.rows.toLocaleString('en')} rows → ${result.distinct.toLocaleString('en')} distinct identifiers ` +
    `(${result.invalidRows} invalid, ${result.duplicateRows} duplicates dropped)`;
  const theirs = result.serverSetSize.toLocaleString('en');
  const ours = result.clientSetSize.toLocaleString('en');
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
      .requiredOption('--file <csv>')
      .requiredOption('--column <name>')
      .option('--partner <member>', 'open a new session with this member')
      .option('--session <id>', 'take part in a session the other member opened')
      .option('--out <csv>', 'with a revealing rule: write your matching rows here')
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
            onSession: (s) => {
              const reveals = s.revealIntersection ? 'intersection revealed to the client' : 'size only';
              print(
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
          print(`${describePsi(result)}\n`);
        },
      );
  }
}
