import { contentHash } from '../crypto/hashing.ts';
import { parsePublicKey } from '../crypto/signing-keys.ts';
import type { Collaboration, Dataset, Member, Principal } from './collaboration.ts';
import type { CollaborationDocument } from './policy-document.ts';

const deepFreeze = <T>(value: T): T => {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
};

/** Builds the frozen, indexed form of an already validated document. */
export function compileCollaboration(doc: CollaborationDocument): Collaboration {
  const document = deepFreeze(structuredClone(doc));
  const principals = new Map<string, Principal>();
  const principalsByKey = new Map<string, Principal>();
  const members = new Map<string, Member>();
  for (const m of document.members) {
    const list = m.principals.map((p): Principal => {
      const principal: Principal = Object.freeze({
        id: p.id,
        memberId: m.id,
        publicKey: parsePublicKey(p.publicKey) as Uint8Array,
        publicKeyText: p.publicKey,
        roles: new Set(p.roles),
      });
      principals.set(p.id, principal);
      principalsByKey.set(p.publicKey, principal);
      return principal;
    });
    members.set(m.id, Object.freeze({ id: m.id, name: m.name, principals: list }));
  }
  const datasets = new Map<string, Dataset>(
    document.datasets.map((d) => [
      d.name,
      Object.freeze({
        name: d.name,
        owner: d.owner,
        region: d.region,
        retentionDays: d.retentionDays,
        format: d.format ?? 'csv',
        columns: d.columns,
        column: new Map(d.columns.map((c) => [c.name, c])),
        rules: d.rules,
        document: d,
      }),
    ]),
  );
  return Object.freeze({
    id: document.id,
    title: document.title,
    hash: contentHash(document),
    document,
    members,
    principals,
    principalsByKey,
    datasets,
    psiRules: document.psi ?? [],
  });
}
