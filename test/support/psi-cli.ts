import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { cli, keyFile } from './cli.ts';
import type { TestRoom } from './test-room.ts';

export const PUBLISHER_EMAILS = resolve('fixtures/psi_publisher_emails.csv');
export const ADVERTISER_EMAILS = resolve('fixtures/psi_advertiser_emails.csv');

/** An independent oracle: each file's e-mails trimmed, lower-cased and NFC, as a plain Set. */
export async function emailSet(file: string): Promise<Set<string>> {
  return new Set(
    (await readFile(file, 'utf8'))
      .split('\n')
      .slice(1)
      .map((l) => l.replace(/^"|"$/g, '').normalize('NFC').trim().toLowerCase())
      .filter(Boolean),
  );
}

/** The plain-Set intersection size the protocol must reproduce. */
export async function plainIntersection(a: string, b: string): Promise<number> {
  const [x, y] = [await emailSet(a), await emailSet(b)];
  return [...x].filter((v) => y.has(v)).length;
}

/**
 * Two CLI processes as two members would run them: Northwind serves the publisher file (opening the
 * session, with `serveArgs` added) and Acme joins the session it printed (with `joinArgs`).
 * Resolves with both processes' stdout and the session id.
 */
export async function psiThroughCli(
  t: TestRoom,
  options: { serveArgs?: readonly string[]; joinArgs?: readonly string[] } = {},
): Promise<{ serverOut: string; clientOut: string; session: string }> {
  let announce!: (id: string) => void;
  const opened = new Promise<string>((r) => (announce = r));
  const common = ['--collab', 'demo', '--column', 'email', '--url', t.baseUrl];
  const server = cli(
    [
      ...['psi', 'serve', ...common, '--key', await keyFile(t, 'northwind-provider')],
      ...['--file', PUBLISHER_EMAILS, '--partner', 'acme', ...(options.serveArgs ?? [])],
    ],
    (line) => {
      const match = /^session: (\S+)/.exec(line);
      if (match) announce(match[1] as string);
    },
  );
  const session = await opened;
  const client = cli([
    ...['psi', 'join', ...common, '--key', await keyFile(t, 'acme-analyst')],
    ...['--file', ADVERTISER_EMAILS, '--session', session, ...(options.joinArgs ?? [])],
  ]);
  const [serverOut, clientOut] = await Promise.all([server, client]);
  return { serverOut, clientOut, session };
}
