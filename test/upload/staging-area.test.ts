import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StagingArea } from '../../src/upload/staging-area.ts';

let parent: string;
beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'cleanroom-sweep-'));
});
afterAll(async () => rm(parent, { recursive: true, force: true }));

/** The pid of a process that has exited (and was reaped). */
const deadPid = () =>
  new Promise<number>((resolve) => {
    const child = spawn(process.execPath, ['-e', '']);
    child.on('exit', () => resolve(child.pid as number));
  });

const ownStartTime = async () => {
  const stat = await readFile('/proc/self/stat', 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] as string;
};

describe('StagingArea', () => {
  it('names its directory after the running room (pid and start time), 0700', async () => {
    const staging = await StagingArea.create();
    try {
      expect(staging.directory).toMatch(
        new RegExp(`/cleanroom-staging-${process.pid}-${await ownStartTime()}-[A-Za-z0-9]{6}$`),
      );
    } finally {
      await staging.destroy();
    }
  });

  it('sweeps the directories of rooms that died, and nothing a live room or another owner may use', async () => {
    const make = async (name: string) => {
      await mkdir(join(parent, name));
      await writeFile(join(parent, name, 'abc.parquet'), 'plaintext a killed load left behind');
      return join(parent, name);
    };
    const dead = await make(`cleanroom-staging-${await deadPid()}-12345-aB3dE9`);
    // Same pid as a live process but another start time: the pid was reused after its room died.
    const reused = await make(`cleanroom-staging-${process.pid}-1-xY7zQ2`);
    const live = await make(`cleanroom-staging-${process.pid}-${await ownStartTime()}-Lm4nP8`);
    const legacy = await make('cleanroom-staging-Qw5eRt');
    const other = await make('not-cleanroom-1-2-abcdef');
    await symlink(live, join(parent, `cleanroom-staging-${await deadPid()}-9-sYmL1k`));

    const swept = await StagingArea.sweepStale(parent);
    expect([...swept.removed].sort()).toEqual([dead, reused].sort());
    expect(swept.ownerUnknown).toEqual([legacy]);
    const left = await readdir(parent);
    expect(left).not.toContain(dead.split('/').pop());
    expect(left).not.toContain(reused.split('/').pop());
    for (const kept of [live, legacy, other]) expect(await readdir(kept)).toEqual(['abc.parquet']);
    expect(left.filter((n) => n.includes('sYmL1k'))).toHaveLength(1);
  });
});
