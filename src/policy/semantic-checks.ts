import type { Diagnostic } from '../errors/diagnostic.ts';
import { invalidValue } from '../validation/json-validator.ts';
import { extractRuleProblems } from './extract-rule-checks.ts';
import { modelRuleProblems } from './model-rule-checks.ts';
import type { CollaborationDocument } from './policy-document.ts';

function duplicates(values: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const v of values) (seen.has(v) ? repeated : seen).add(v);
  return repeated;
}

/**
 * What JSON Schema cannot say: references between parts of the document. Runs only on a
 * schema-valid document and reports every problem with its pointer.
 */
export function semanticProblems(doc: CollaborationDocument): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const problem = (pointer: string, message: string) =>
    problems.push(invalidValue(pointer, message, 'policy cross-references'));
  const memberIds = new Set(doc.members.map((m) => m.id));

  const repeatedMembers = duplicates(doc.members.map((m) => m.id));
  doc.members.forEach((m, i) => {
    if (repeatedMembers.has(m.id)) problem(`/members/${i}/id`, `member id "${m.id}" is used more than once`);
    if (!m.principals.some((p) => p.roles.includes('officer'))) {
      problem(
        `/members/${i}/principals`,
        `member "${m.id}" has no principal with the officer role, so it could never accept the policy`,
      );
    }
  });
  const allPrincipals = doc.members.flatMap((m) => m.principals);
  const repeatedPrincipals = duplicates(allPrincipals.map((p) => p.id));
  const repeatedKeys = duplicates(allPrincipals.map((p) => p.publicKey));
  doc.members.forEach((m, i) =>
    m.principals.forEach((p, j) => {
      if (repeatedPrincipals.has(p.id))
        problem(`/members/${i}/principals/${j}/id`, `principal id "${p.id}" is used more than once`);
      if (repeatedKeys.has(p.publicKey))
        problem(
          `/members/${i}/principals/${j}/publicKey`,
          'this public key belongs to more than one principal; each acting identity needs its own key',
        );
    }),
  );

  const repeatedDatasets = duplicates(doc.datasets.map((d) => d.name));
  const datasets = new Map(doc.datasets.map((d) => [d.name, d]));
  doc.datasets.forEach((d, i) => {
    const at = `/datasets/${i}`;
    if (repeatedDatasets.has(d.name)) problem(`${at}/name`, `dataset name "${d.name}" is used more than once`);
    if (!memberIds.has(d.owner)) problem(`${at}/owner`, `owner "${d.owner}" is not a member of this collaboration`);
    const columns = new Map(d.columns.map((c) => [c.name, c]));
    duplicates(d.columns.map((c) => c.name)).forEach((name) =>
      problem(`${at}/columns`, `column "${name}" is declared more than once`),
    );
    const unit = columns.get(d.rules.privacyUnit);
    if (!unit)
      problem(
        `${at}/rules/privacyUnit`,
        `privacy unit "${d.rules.privacyUnit}" is not a column of dataset "${d.name}"`,
      );
    else if (unit.class !== 'identifier')
      problem(`${at}/rules/privacyUnit`, `privacy unit "${unit.name}" must be an identifier column, not ${unit.class}`);
    d.rules.resultReceivers.forEach((r, j) => {
      if (!memberIds.has(r))
        problem(`${at}/rules/resultReceivers/${j}`, `result receiver "${r}" is not a member of this collaboration`);
    });
    (d.rules.joins ?? []).forEach((join, j) => {
      const jat = `${at}/rules/joins/${j}`;
      const own = columns.get(join.column);
      if (own?.class !== 'identifier')
        problem(`${jat}/column`, `join column "${join.column}" must be an identifier column of "${d.name}"`);
      const partner = datasets.get(join.dataset);
      const theirs = partner?.columns.find((c) => c.name === join.partnerColumn);
      if (!partner) problem(`${jat}/dataset`, `partner dataset "${join.dataset}" is not in this collaboration`);
      else if (theirs?.class !== 'identifier') {
        problem(
          `${jat}/partnerColumn`,
          `partner column "${join.partnerColumn}" must be an identifier column of "${join.dataset}"`,
        );
      } else if (own && own.type !== theirs.type) {
        // The engine would convert one side to compare them: '7', '07' and ' 7' are three people of a
        // VARCHAR column and one of a BIGINT one, so one person of one side could match many of the other.
        problem(
          `${jat}/partnerColumn`,
          `join columns must have the same type: "${d.name}.${join.column}" is ${own.type}, ` +
            `"${join.dataset}.${join.partnerColumn}" is ${theirs.type}`,
        );
      }
    });
    Object.entries(d.rules.dp?.clamp ?? {}).forEach(([name, [lower, upper]]) => {
      if (columns.get(name)?.class !== 'metric')
        problem(`${at}/rules/dp/clamp/${name}`, `clamped column "${name}" must be a metric column of "${d.name}"`);
      if (!(lower < upper))
        problem(`${at}/rules/dp/clamp/${name}`, `clamp bounds must satisfy lower < upper, got [${lower}, ${upper}]`);
    });
    for (const { pointer, message } of extractRuleProblems(d, at, memberIds)) problem(pointer, message);
    for (const { pointer, message } of modelRuleProblems(d, at, memberIds)) problem(pointer, message);
    if (d.rules.dp?.mechanism === 'gaussian' && !(d.rules.dp.budget.delta && d.rules.dp.budget.delta > 0)) {
      problem(`${at}/rules/dp/budget/delta`, 'the Gaussian mechanism needs a delta budget greater than 0');
    }
  });

  (doc.psi ?? []).forEach((rule, i) => {
    if (!memberIds.has(rule.server)) problem(`/psi/${i}/server`, `PSI server "${rule.server}" is not a member`);
    if (!memberIds.has(rule.client)) problem(`/psi/${i}/client`, `PSI client "${rule.client}" is not a member`);
    if (rule.server === rule.client) problem(`/psi/${i}`, 'a PSI rule needs two different members');
    (rule.releaseTo ?? []).forEach((m, j) => {
      if (m !== rule.server && m !== rule.client)
        problem(`/psi/${i}/releaseTo/${j}`, `"${m}" is neither the PSI server nor its client`);
    });
    if ((rule.epsilonBudget ?? 5) < (rule.epsilon ?? 0.5))
      problem(`/psi/${i}/epsilonBudget`, 'the budget is smaller than one session’s epsilon');
  });
  return problems;
}
