import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { toBase64 } from '../../src/crypto/bytes.ts';
import type { TestRoom } from './test-room.ts';

/** Writes a test principal's key as a CLI key file (0600) and returns its path. */
export async function keyFile(t: TestRoom, principal: string): Promise<string> {
  const key = t.keys[principal]!;
  const file = join(t.dir, `${principal}.key`);
  await writeFile(
    file,
    JSON.stringify({
      type: 'cleanroom-ed25519-secret-key',
      name: principal,
      publicKey: key.publicKeyText,
      secretKey: toBase64(key.secretKey),
    }),
    { mode: 0o600 },
  );
  return file;
}

/**
 * The installed executable (bin/cleanroom.js, as npm link or a global install runs it), with a profile
 * path of its own so a developer's real profile never leaks into a test.
 */
function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string) {
  return spawn(process.execPath, [resolve('bin/cleanroom.js'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
    env: { ...process.env, CLEANROOM_CONFIG: join(tmpdir(), 'cleanroom-test-no-profile.json'), ...env },
  });
}

/** Runs the real CLI in its own process; resolves with stdout, rejects with the exit code and stderr. */
export function cli(args: string[], onLine: (line: string) => void = () => undefined): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const child = spawnCli(args);
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of d.toString().split('\n')) if (line) onLine(line);
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) =>
      code === 0
        ? resolveRun(out)
        : reject(new Error(`cli ${args.slice(0, 2).join(' ')} exited ${code}: ${err.slice(-500)}`)),
    );
  });
}

/** Runs the real CLI in its own process and answers its exit code, stdout and stderr, whatever they are. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawnCli(args, env, cwd);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}
