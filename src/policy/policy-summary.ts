import type { CollaborationDocument, DatasetDocument, PsiRuleDocument } from './policy-document.ts';

const list = (items: readonly string[]) => (items.length > 0 ? items.join(', ') : 'none');
const range = ([low, high]: readonly [number, number]) => `[${low}, ${high}]`;

function datasetLines(d: DatasetDocument): string[] {
  const r = d.rules;
  const byClass = (cls: string) => d.columns.filter((c) => c.class === cls).map((c) => c.name);
  const lines = [
    `dataset ${d.name} (owner ${d.owner}, region ${d.region}, kept ${d.retentionDays} days)`,
    `  person: ${r.privacyUnit}; metrics: ${list(byClass('metric'))}; dimensions: ${list(byClass('dimension'))}`,
    `  quasi-identifiers: ${list(byClass('quasi'))}; identifiers: ${list(byClass('identifier'))}; ` +
      `blocked: ${list(byClass('blocked'))}`,
    `  aggregates: groups of at least ${r.minGroupSize} people, ${list(r.aggregates)}; ` +
      `ad hoc SQL ${r.adHocQueries ? 'allowed' : 'refused'}; results to ${list(r.resultReceivers)}`,
  ];
  if (r.joins?.length)
    lines.push(`  joins: ${r.joins.map((j) => `${j.column} = ${j.dataset}.${j.partnerColumn}`).join(', ')}`);
  if (r.dominance)
    lines.push(
      `  dominance: the top ${r.dominance.topContributors} people give at most ${r.dominance.maxShare} of a group`,
    );
  if (r.dp) {
    const b = r.dp.budget;
    lines.push(
      `  DP: ${r.dp.mechanism ?? 'laplace'}, at most ε ${r.dp.maxEpsilonPerQuery} a query` +
        (b ? `, budget ε ${b.epsilon}${b.delta ? ` δ ${b.delta}` : ''} per member per ${b.period}` : ''),
    );
  }
  if (r.extract) {
    const e = r.extract;
    const l = e.l ? `, l ${e.l.l} on ${e.l.attribute}` : '';
    const t = e.t ? `, t ${e.t.t} on ${e.t.attribute}` : '';
    lines.push(`  extracts: k ${e.k}${l}${t}, ≤ ${e.maxSuppression * 100}% suppressed, to ${list(e.recipients)}`);
  }
  if (r.model) {
    const m = r.model;
    const lent = Object.entries(m.perPerson ?? {}).map(
      ([name, f]) => `${name} (${f.aggregate}${f.column ? ` of ${f.column}` : ''} ${range(f.bounds)})`,
    );
    const bounded = (entries: Readonly<Record<string, readonly [number, number]>>) =>
      Object.entries(entries).map(([name, b]) => `${name} ${range(b)}`);
    lines.push(
      `  models: features ${list(bounded(m.features))}; categories ${list(Object.keys(m.categories ?? {}))}; ` +
        `labels ${list(bounded(m.labels))}`,
      `    lends per person: ${list(lent)}`,
      `    at least ${m.minPeople} people, ${m.dpRequired === false ? 'DP optional' : 'DP required'}, ` +
        `ε ≤ ${m.maxEpsilonPerModel ?? 1} a model, to ${list(m.recipients)}`,
    );
  }
  return lines;
}

function psiReleaseText(p: PsiRuleDocument): string {
  if (p.revealIntersection) return 'the intersection revealed';
  const to = (p.releaseTo ?? [p.client]).join(' and ');
  const exact = p.exactCount ? ' (or, if the session asks, its exact size, counted by the client)' : '';
  return (
    `its size counted by the room with ε ${p.epsilon ?? 0.5} noise per session (budget ε ${p.epsilonBudget ?? 5}), ` +
    `to ${to}${exact}`
  );
}

/**
 * A policy as an officer reads it before signing its hash: members and their principals' roles,
 * each dataset's columns by class and its rules (thresholds, joins, DP, extracts, models), PSI pairs.
 * Plain lines; callers escape them for a terminal or HTML.
 */
export function summarisePolicy(doc: CollaborationDocument): string[] {
  const lines = [`collaboration ${doc.id}: ${doc.title}`, ''];
  for (const m of doc.members)
    lines.push(`member ${m.id} (${m.name}): ${m.principals.map((p) => `${p.id} [${p.roles.join(', ')}]`).join('; ')}`);
  for (const d of doc.datasets) lines.push('', ...datasetLines(d));
  for (const p of doc.psi ?? [])
    lines.push(
      '',
      `PSI ${p.server} serves ${p.client}: ${psiReleaseText(p)}, ` +
        `sets of at least ${p.minSetSize}, ${p.maxSessionsPerDay} sessions a day, ${p.normalisation} normalisation`,
    );
  return lines;
}
