import type { Command } from 'commander';
import { fromBase64, toBase64 } from '../../crypto/bytes.ts';
import { sign } from '../../crypto/signatures.ts';
import type { AuditEntry } from '../../audit/audit-entry.ts';
import { verifyAuditChain } from '../../audit/verify-audit-chain.ts';
import { createPrincipalKeyFiles } from '../../keys/principal-key-file.ts';
import { acceptanceSigningBytes, type CollaborationStatus } from '../../room/policy-acceptance.ts';
import type { RoomClient } from '../../client/room-client.ts';
import type { PrincipalKey } from '../../keys/principal-key-file.ts';
import { DEFAULT_URL, signedClient } from '../client-options.ts';
import { escapeTerminal } from '../escape-terminal.ts';
import { hashToSign } from '../named-hash.ts';
import { print, printJson } from '../output.ts';

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
    .description('show a collaboration: policy hash, acceptances, your roles')
    .requiredOption('--collab <id>')
    .requiredOption('--key <file>')
    .option('--url <url>', 'room URL', DEFAULT_URL)
    .action(async (o: { collab: string; key: string; url: string }) => {
      const { client } = await signedClient(o.url, o.key);
      printJson(await client.send('GET', `/v1/collaborations/${o.collab}`));
    });

  program
    .command('accept')
    .description(
      "as an officer, sign the policy content hash you reviewed (`status` shows it), if it is the room's current one",
    )
    .requiredOption('--collab <id>')
    .requiredOption('--key <file>')
    .requiredOption('--hash <sha256>', 'the policyHash you reviewed: 64 hex digits, or at least the first 12')
    .option('--url <url>', 'room URL', DEFAULT_URL)
    .action(async (o: { collab: string; key: string; hash: string; url: string }) => {
      const { client, key } = await signedClient(o.url, o.key);
      const status = await acceptCollaboration(client, key, o.collab, o.hash);
      const awaiting = status.awaiting.map((m) => escapeTerminal(m)).join(', ');
      const state = status.active ? 'collaboration is active' : `awaiting: ${awaiting}`;
      print(`accepted policy ${escapeTerminal(status.policyHash)}\n${state}\n`);
    });

  program
    .command('audit')
    .description("download a collaboration's audit chain and verify it offline against the room's key")
    .requiredOption('--collab <id>')
    .requiredOption('--key <file>')
    .option('--url <url>', 'room URL', DEFAULT_URL)
    .option('--json', 'print the entries as JSON')
    .action(async (o: { collab: string; key: string; url: string; json?: boolean }) => {
      const { client } = await signedClient(o.url, o.key);
      const { entries, verdict } = await verifyRemoteAudit(client, o.collab);
      if (o.json) printJson(entries);
      else
        for (const e of entries)
          print(`${[e.seq, e.at, e.actor, e.action].map((v) => escapeTerminal(String(v))).join('\t')}\n`);
      print(
        verdict.ok
          ? `chain verified: ${verdict.entries} entries, head ${escapeTerminal(verdict.head)}\n`
          : `CHAIN BROKEN at ${verdict.seq}: ${escapeTerminal(verdict.reason)}\n`,
      );
      if (!verdict.ok) process.exitCode = 1;
    });
}
