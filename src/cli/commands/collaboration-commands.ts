import type { Command } from 'commander';
import { fromBase64, toBase64 } from '../../crypto/bytes.ts';
import { sign } from '../../crypto/signatures.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { verifyAuditChain } from '../../audit/verify-audit-chain.ts';
import { createPrincipalKeyFiles } from '../../keys/principal-key-file.ts';
import { acceptanceSigningBytes, type CollaborationStatus } from '../../room/policy-acceptance.ts';
import type { RoomClient } from '../../client/room-client.ts';
import { readFile, writeFile } from 'node:fs/promises';
import type { PrincipalKey } from '../../keys/principal-key-file.ts';
import { roomSigningKey, signedClient } from '../client-options.ts';
import { collabOption, keyOption, urlOption } from '../profile.ts';
import { formatOption, jsonOption, printRecords, type RecordFormat } from '../records.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { hashToSign } from '../named-hash.ts';
import { print, printError, printJson, printJsonLine } from '../output.ts';
import { summarisePolicy } from '../../policy/policy-summary.ts';
import type { CollaborationDocument } from '../../policy/policy-document.ts';

/**
 * An officer signs the policy hash they reviewed (`named`: full, or a prefix of at least 12 hex
 * digits), and only if it is the room's current policy; the room refuses a stale full hash too.
 */
export async function acceptCollaboration(
  client: RoomClient,
  key: PrincipalKey,
  collaboration: string,
  named: string,
): Promise<CollaborationStatus> {
  const view = await client.send<{ status: CollaborationStatus }>('GET', `/v1/collaborations/${collaboration}`);
  const hash = hashToSign(named, view.status.policyHash, {
    code: 'POLICY_HASH_MISMATCH',
    what: `policy of collaboration "${collaboration}"`,
    review: `cleanroom status --collab ${collaboration}`,
  });
  return client.send<CollaborationStatus>('POST', `/v1/collaborations/${collaboration}/acceptances`, {
    policyHash: hash,
    signature: toBase64(sign(acceptanceSigningBytes(collaboration, hash), key.secretKey)),
  });
}

/** Fetches a collaboration's audit chain and verifies it against the room's published key. */
export async function verifyRemoteAudit(client: RoomClient, collaboration: string) {
  const room = await client.getPublic<{ signingPublicKey: string }>('/v1/room');
  const { entries } = await client.send<{ entries: AuditEntry[] }>('GET', `/v1/collaborations/${collaboration}/audit`);
  return { entries, verdict: verifyAuditChain(entries, fromBase64(room.signingPublicKey, 32) ?? new Uint8Array()) };
}

/** The NDJSON export of an audit chain (`audit --out`), one entry per line. */
export const auditExport = (entries: readonly AuditEntry[]): string =>
  entries.map((e) => `${JSON.stringify(e)}\n`).join('');

/** Verifies an NDJSON export of an audit chain against the room's signing key, offline. */
export function verifyAuditExport(text: string, roomKey: Uint8Array, file = 'the export') {
  let entries: AuditEntry[];
  try {
    entries = text
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as AuditEntry);
  } catch {
    throw new Error(`${file} is not NDJSON: one audit entry per line, as \`cleanroom audit --out\` writes.`);
  }
  return verifyAuditChain(entries, roomKey);
}

const describeVerdict = (verdict: ReturnType<typeof verifyAuditChain>): string =>
  verdict.ok
    ? `chain verified: ${verdict.entries} entries, head ${escapeTerminal(verdict.head)}\n`
    : `CHAIN BROKEN at ${verdict.seq}: ${escapeTerminal(verdict.reason)}\n`;

/** What GET /v1/collaborations/:id answers. */
interface CollaborationView {
  readonly caller: { readonly principal: string; readonly member: string; readonly roles: readonly string[] };
  readonly status: CollaborationStatus;
  readonly policy: CollaborationDocument;
}

/** The policy summarised, its hash and acceptance state, and who is asking. */
function describeCollaboration(view: CollaborationView): string {
  const s = view.status;
  const accepted = s.acceptedBy.map((a) => `${a.member} (${a.principal})`).join(', ') || 'no one yet';
  return [
    ...summarisePolicy(view.policy),
    '',
    `policy hash ${s.policyHash}`,
    `accepted by ${accepted}; ${s.active ? 'active' : `awaiting ${s.awaiting.join(', ')}`}`,
    `you: ${view.caller.principal} of ${view.caller.member} [${view.caller.roles.join(', ')}]`,
    '',
  ].join('\n');
}

export function registerCollaborationCommands(program: Command): void {
  const keys = program.command('keys').description('principal keys');
  keys
    .command('new')
    .description("write a principal's Ed25519 key pair: <out>/<name>.key (0600) and <name>.pub")
    .requiredOption('--out <dir>', 'directory for the key files')
    .option('--name <name>', 'key name', 'principal')
    .action(async (o: { out: string; name: string }) => {
      const { keyPath, publicKey } = await createPrincipalKeyFiles(o.out, o.name);
      print(`wrote ${keyPath} (keep it private)\npublic key for the policy: ${publicKey}\n`);
    });

  program
    .command('status')
    .description('show a collaboration: the policy summarised, its hash, who accepted it, your roles')
    .addOption(collabOption())
    .addOption(keyOption())
    .addOption(urlOption())
    .option('--json', "print the room's answer (status, caller, the whole policy document) as JSON")
    .action(async (o: { collab: string; key: string; url: string; json?: boolean }) => {
      const { client } = await signedClient(o.url, o.key);
      const view = await client.send<CollaborationView>('GET', `/v1/collaborations/${o.collab}`);
      if (o.json) printJson(view);
      else print(describeCollaboration(view));
    });

  program
    .command('accept')
    .description(
      "as an officer, sign the policy content hash you reviewed (`status` shows it), if it is the room's current one",
    )
    .addOption(collabOption())
    .addOption(keyOption())
    .option('--hash <sha256>', 'the policyHash you reviewed: 64 hex digits, or at least the first 12')
    .addOption(urlOption())
    .action(async (o: { collab: string; key: string; hash?: string; url: string }) => {
      const { client, key } = await signedClient(o.url, o.key);
      if (!o.hash) {
        // Nothing is signed without the officer naming the hash of what they read.
        const view = await client.send<CollaborationView>('GET', `/v1/collaborations/${o.collab}`);
        print(describeCollaboration(view));
        printError(
          `review the policy above; to sign it run again with --hash ${view.status.policyHash.slice(0, 12)} ` +
            '(or the full hash)\n',
        );
        process.exitCode = 2;
        return;
      }
      const status = await acceptCollaboration(client, key, o.collab, o.hash);
      const awaiting = status.awaiting.map((m) => escapeTerminal(m)).join(', ');
      const state = status.active ? 'collaboration is active' : `awaiting: ${awaiting}`;
      print(`accepted policy ${escapeTerminal(status.policyHash)}\n${state}\n`);
    });

  program
    .command('audit')
    .description("download a collaboration's audit chain and verify it offline against the room's key")
    .addOption(collabOption())
    .addOption(keyOption())
    .addOption(urlOption())
    .addOption(formatOption())
    .addOption(jsonOption())
    .option('--out <file>', 'also write the entries as NDJSON, one per line: an export `audit-verify` checks offline')
    .action(
      async (o: { collab: string; key: string; url: string; format?: RecordFormat; json?: boolean; out?: string }) => {
        const { client } = await signedClient(o.url, o.key);
        const { entries, verdict } = await verifyRemoteAudit(client, o.collab);
        if (o.out) await writeFile(o.out, auditExport(entries), { mode: 0o600 });
        const format = o.json ? 'json' : (o.format ?? 'table');
        // Machine formats keep every field of every entry (details as an object; as JSON text in CSV).
        if (format === 'json') printJson(entries);
        else if (format === 'ndjson') for (const e of entries) printJsonLine(e);
        else if (format === 'csv')
          printRecords(
            { format: 'csv' },
            entries.map((e) => ({
              seq: e.seq,
              at: e.at,
              actor: e.actor,
              action: e.action,
              details: JSON.stringify(e.details),
              hash: e.hash,
            })),
            { columns: [], row: () => [] },
          );
        else
          for (const e of entries)
            print(`${[e.seq, e.at, e.actor, e.action].map((v) => escapeTerminal(String(v))).join('\t')}\n`);
        (format === 'table' ? print : printError)(describeVerdict(verdict));
        if (!verdict.ok) process.exitCode = 1;
      },
    );

  program
    .command('audit-verify')
    .description("verify an exported audit chain (NDJSON from `audit --out`) offline against the room's signing key")
    .requiredOption('--file <ndjson>', 'the exported chain (`cleanroom audit --out FILE`)')
    .option('--room-key <base64>', "the room's Ed25519 signing key, as GET /v1/room publishes it")
    .option('--url <url>', 'fetch the room key from this room instead of --room-key')
    .action(async (o: { file: string; roomKey?: string; url?: string }) => {
      const { key: roomKey } = await roomSigningKey(o);
      if (!roomKey) throw new Error('audit-verify needs the room key: --room-key BASE64 or --url ROOM.');
      const verdict = verifyAuditExport(await readFile(o.file, 'utf8'), roomKey, o.file);
      print(describeVerdict(verdict));
      if (!verdict.ok) process.exitCode = 1;
    });
}
