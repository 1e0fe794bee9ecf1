import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';

// Issue #13: help text on every command and option. Walks the real command tree, so a command or
// option added without a sentence for `--help` fails here.
function walk(command: Command, path: string[] = []): { path: string; command: Command }[] {
  const here = [...path, command.name()];
  return [{ path: here.join(' '), command }, ...command.commands.flatMap((c) => walk(c, here))];
}

describe('cleanroom --help', () => {
  const all = walk(buildProgram());

  it('describes every command', () => {
    expect(all.length).toBeGreaterThan(40);
    expect(all.filter(({ command }) => command.description().trim() === '').map(({ path }) => path)).toEqual([]);
  });

  it('describes every option of every command', () => {
    const bare = all.flatMap(({ path, command }) =>
      command.options.filter((o) => o.description.trim() === '').map((o) => `${path} ${o.flags}`),
    );
    expect(bare).toEqual([]);
  });
});
