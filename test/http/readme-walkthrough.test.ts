import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CollaborationDocument } from '../../src/policy/policy-document.ts';
import { DEMO_EXTRACT } from '../../src/cli/demo/demo-extract.ts';
import { DEMO_MODEL } from '../../src/cli/demo/demo-model.ts';
import { runCli } from '../support/cli.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

// Issue #13, "done when": every command of the README's walkthrough runs as written through the
// installed `cleanroom` executable, against a room serving the committed demo policy with the
// committed demo keys. Only what a person reads off an earlier answer is filled in: the policy hash,
// the hash `show` printed, the PSI session `psi serve` printed; `cleanroom` points at the room through
// CLEANROOM_URL, as the README says, and runs in a directory holding the repository's fixtures.
let t: TestRoom;
let work: string;

beforeAll(async () => {
  const committed = JSON.parse(await readFile('policies/demo.json', 'utf8')) as CollaborationDocument;
  work = await mkdtemp(join(tmpdir(), 'cleanroom-readme-'));
  // The templates of sql/, as `npm start` serves them (a copy: the room may write proposals there).
  await cp('sql', join(work, 'sql'), { recursive: true });
  t = await startTestRoom({
    edit: (policy) => {
      policy.members = structuredClone(committed.members) as typeof policy.members;
    },
    config: { templatesDirectory: join(work, 'sql') },
  });
  for (const dir of ['fixtures', 'examples']) await symlink(resolve(dir), join(work, dir));
}, 60_000);
afterAll(async () => {
  await t.close();
  await rm(work, { recursive: true, force: true });
});

/** The walkthrough's commands, in order, as the README's first sh block gives them. */
async function walkthrough(): Promise<string[]> {
  const readme = await readFile('README.md', 'utf8');
  const block = /```sh\nk=fixtures\/keys\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README has no walkthrough block');
  return block
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line.startsWith('cleanroom '));
}

/** Splits a command line as sh would for these lines: words, and "double-quoted" words. */
const words = (line: string): string[] =>
  [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => (m[1] ?? m[2]) as string).slice(1);

describe('the README walkthrough', () => {
  it('runs as written through the installed executable', { timeout: 240_000 }, async () => {
    const lines = await walkthrough();
    expect(lines.length).toBeGreaterThan(25);
    const env = { CLEANROOM_URL: t.baseUrl };
    let shownHash = '';
    let session = '';
    let serving: Promise<number | null> | undefined;
    for (const line of lines) {
      const args = words(line.replaceAll('$k', 'fixtures/keys'))
        .map((w) => (w === '<policyHash>' ? t.room.collaboration('demo').hash : w))
        .map((w) => (w === 'http://127.0.0.1:8080' ? t.baseUrl : w));
      // Filled in as a person would: from what the previous `show` printed, or psi serve's session.
      const filled = line.includes('<hash shown>')
        ? args.flatMap((w, i) => (w === '<hash' && args[i + 1] === 'shown>' ? [shownHash] : w === 'shown>' ? [] : [w]))
        : args.map((w) => (w === '<id>' ? session : w));
      if (args[0] === 'psi' && args[1] === 'serve') {
        const child = spawn(process.execPath, [resolve('bin/cleanroom.js'), ...filled], {
          cwd: work,
          env: { ...process.env, ...env, CLEANROOM_CONFIG: join(work, 'no-profile.json') },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        serving = new Promise((done) => child.on('close', done));
        session = await new Promise<string>((found, fail) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const id = /session: (\S+)/.exec(out)?.[1];
            if (id) found(id);
          });
          child.on('close', (code) => fail(new Error(`psi serve exited ${code} before printing its session`)));
        });
        continue;
      }
      const run = await runCli(filled, env, work);
      expect({ line, code: run.code, stderr: run.stderr.slice(-400) }).toMatchObject({ line, code: 0 });
      const hash = /^hash +([0-9a-f]{64})$/m.exec(run.stdout)?.[1];
      if (hash) shownHash = hash;
      if (args[0] === 'psi' && args[1] === 'join') {
        expect(run.stdout).toMatch(/intersection ≈ [\d,]+ \(95% interval [\d,]+–[\d,]+; counted by the room/);
        expect(await serving).toBe(0);
      }
      if (args[0] === 'audit-verify') expect(run.stdout).toMatch(/verified/i);
    }
  });

  it('names example files that are the demo’s own templates, kept in step', async () => {
    expect(JSON.parse(await readFile('examples/extract.json', 'utf8'))).toEqual(DEMO_EXTRACT);
    expect(JSON.parse(await readFile('examples/model.json', 'utf8'))).toEqual(DEMO_MODEL);
  });
});
