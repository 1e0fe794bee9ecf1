import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Diagnostic } from '../../errors/diagnostic.ts';
import { parseCollaboration } from '../../policy/load-policies.ts';
import { diffPolicies, type PolicyChange } from '../../policy/policy-diff.ts';
import type { Collaboration } from '../../policy/collaboration.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { print, printError, printJson } from '../output.ts';

/** A policy file's problems as JSON pointers and sentences, or its compiled collaboration. Offline. */
export async function checkPolicyFile(
  file: string,
): Promise<
  { ok: true; collaboration: Collaboration } | { ok: false; problems: { pointer: string; message: string }[] }
> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is no such file' : 'it is not valid JSON';
    return { ok: false, problems: [{ pointer: '', message: `${file} cannot be read as a policy: ${why}` }] };
  }
  try {
    return { ok: true, collaboration: parseCollaboration(value, file) };
  } catch (error) {
    const diagnostics = (error as { diagnostics?: readonly Diagnostic[] }).diagnostics;
    if (!diagnostics) throw error;
    return {
      ok: false,
      problems: diagnostics.map((d) => ({
        pointer: String((d.data as { pointer?: string }).pointer ?? ''),
        message: d.message,
      })),
    };
  }
}

const EFFECT_MARK: Record<PolicyChange['effect'], string> = { loosens: '+', tightens: '-', changes: '~' };

/** `policy validate|hash|diff`: policy as code for officers, on files, without a room. */
export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('policy files, offline: validate them, hash them as officers sign them, diff two versions');

  policy
    .command('validate')
    .description('check a policy file: every problem as a JSON pointer and a sentence (exit 1 if any)')
    .argument('<file>')
    .option('--json', 'print { valid, collaboration, hash, problems } as JSON on stdout')
    .action(async (file: string, o: { json?: boolean }) => {
      const checked = await checkPolicyFile(file);
      if (o.json)
        printJson(
          checked.ok
            ? { valid: true, collaboration: checked.collaboration.id, hash: checked.collaboration.hash, problems: [] }
            : { valid: false, problems: checked.problems },
        );
      else if (checked.ok)
        print(
          `${escapeTerminal(file)}: valid; collaboration ${checked.collaboration.id}, ` +
            `hash ${checked.collaboration.hash}\n`,
        );
      else for (const p of checked.problems) print(`${escapeTerminal(file)}#${p.pointer || '/'}: ${p.message}\n`);
      if (!checked.ok) process.exitCode = 1;
    });

  policy
    .command('hash')
    .description('print the content hash of a valid policy file: what officers sign when they accept it')
    .argument('<file>')
    .action(async (file: string) => {
      const checked = await checkPolicyFile(file);
      if (!checked.ok) {
        for (const p of checked.problems) printError(`${escapeTerminal(file)}#${p.pointer || '/'}: ${p.message}\n`);
        process.exitCode = 1;
        return;
      }
      print(`${checked.collaboration.hash}\n`);
    });

  policy
    .command('diff')
    .description(
      'what changes from one valid policy file to another: rules, columns, members, PSI, per dataset, each marked ' +
        '+ (lets more out), - (less) or ~',
    )
    .argument('<old>')
    .argument('<new>')
    .option('--json', 'print { old, new, changes } as JSON on stdout')
    .action(async (oldFile: string, newFile: string, o: { json?: boolean }) => {
      const [before, after] = await Promise.all([checkPolicyFile(oldFile), checkPolicyFile(newFile)]);
      for (const [file, checked] of [
        [oldFile, before],
        [newFile, after],
      ] as const)
        if (!checked.ok)
          for (const p of checked.problems) printError(`${escapeTerminal(file)}#${p.pointer || '/'}: ${p.message}\n`);
      if (!before.ok || !after.ok) {
        process.exitCode = 1;
        return;
      }
      const changes = diffPolicies(before.collaboration.document, after.collaboration.document);
      if (o.json) {
        printJson({ old: before.collaboration.hash, new: after.collaboration.hash, changes });
        return;
      }
      const scopes = [...new Set(changes.map((c) => c.scope))];
      const lines = [`${before.collaboration.hash.slice(0, 12)} → ${after.collaboration.hash.slice(0, 12)}`];
      for (const scope of scopes) {
        lines.push('', scope);
        for (const c of changes.filter((x) => x.scope === scope))
          lines.push(`  ${EFFECT_MARK[c.effect]} ${c.sentence}`);
      }
      const count = (effect: PolicyChange['effect']) => changes.filter((c) => c.effect === effect).length;
      lines.push(
        '',
        changes.length === 0
          ? 'no changes'
          : `${changes.length} changes: ${count('loosens')} loosen, ${count('tightens')} tighten, ` +
              `${count('changes')} other`,
      );
      print(`${lines.join('\n')}\n`);
    });
}
