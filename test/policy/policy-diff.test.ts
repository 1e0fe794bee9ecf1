import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { diffPolicies, type PolicyChange } from '../../src/policy/policy-diff.ts';
import type { CollaborationDocument } from '../../src/policy/policy-document.ts';

const demo = JSON.parse(readFileSync('policies/demo.json', 'utf8')) as CollaborationDocument;
type Mutable = {
  members: { id: string; principals: { name: string }[] }[];
  datasets: {
    name: string;
    columns: { name: string; class: string }[];
    rules: Record<string, unknown> & {
      resultReceivers: string[];
      minGroupSize: number;
      dp?: { budget: { epsilon: number } };
    };
  }[];
  psi?: { minSetSize: number }[];
};
const edit = (change: (doc: Mutable) => void): CollaborationDocument => {
  const doc = structuredClone(demo) as unknown as Mutable;
  change(doc);
  return doc as unknown as CollaborationDocument;
};

/** The value a JSON pointer names in a document. */
function resolve(doc: unknown, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((at, key) => (at as Record<string, unknown>)[key], doc);
}

const summary = (changes: PolicyChange[]) => changes.map((c) => `${c.effect} ${c.kind} ${c.pointer}`);

describe('policy diff', () => {
  it('sees no change in a document whose datasets, columns and members are only reordered', () => {
    const reordered = edit((doc) => {
      doc.datasets.reverse();
      doc.members.reverse();
      for (const d of doc.datasets) d.columns.reverse();
      for (const m of doc.members) m.principals.reverse();
    });
    expect(diffPolicies(demo, reordered)).toEqual([]);
  });

  it('names each change by a pointer into the new document and says whether it loosens or tightens', () => {
    const after = edit((doc) => {
      const [customers, impressions] = [doc.datasets[0]!, doc.datasets[1]!];
      customers.rules.minGroupSize = 20;
      impressions.rules.dp!.budget.epsilon = 1;
      impressions.columns.find((c) => c.name === 'ip_address')!.class = 'dimension';
      customers.rules.resultReceivers = ['acme'];
      doc.psi![0]!.minSetSize = 5000;
      doc.datasets.reverse();
    });
    const changes = diffPolicies(demo, after);
    expect(summary(changes).sort()).toEqual(
      [
        'loosens changed /datasets/1/rules/minGroupSize',
        'tightens removed /datasets/1/rules/resultReceivers/1',
        'tightens changed /datasets/0/rules/dp/budget/epsilon',
        'loosens changed /datasets/0/columns/1/class',
        'tightens changed /psi/0/minSetSize',
      ].sort(),
    );
    for (const c of changes)
      if (c.kind === 'removed') expect(c.before).toBeDefined();
      else expect(resolve(after, c.pointer)).toEqual(c.after);
    expect(changes.find((c) => c.pointer.endsWith('minGroupSize'))).toMatchObject({
      scope: 'dataset advertiser_customers',
      before: 50,
      after: 20,
      sentence: 'datasets.advertiser_customers.rules.minGroupSize changes from 50 to 20 (loosens).',
    });
    expect(changes.find((c) => c.pointer.startsWith('/psi'))?.scope).toBe('PSI northwind ↔ acme');
  });

  it('reports whole entries added or removed: a dataset, a principal, a rule block', () => {
    const after = edit((doc) => {
      doc.datasets.pop();
      doc.members[0]!.principals.push({ id: 'acme-intern', publicKey: 'x', roles: ['analyst'] } as never);
      delete doc.datasets[0]!.rules.model;
    });
    expect(summary(diffPolicies(demo, after)).sort()).toEqual(
      [
        'changes removed /datasets/1',
        'changes added /members/0/principals/' + String(demo.members[0]!.principals.length),
        'tightens removed /datasets/0/rules/model',
      ].sort(),
    );
  });
});
