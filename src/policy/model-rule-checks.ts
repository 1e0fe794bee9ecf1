import type { DatasetDocument } from './policy-document.ts';

const NUMERIC = new Set(['INTEGER', 'BIGINT', 'DOUBLE', 'BOOLEAN']);

/**
 * The cross-checks of one dataset's model rules, as (pointer, message) pairs: features and labels
 * are numeric metric or dimension columns with bounds lower < upper, categories are dimensions,
 * nothing is an identifier, blocked or quasi-identifier column, per-person aggregates read such a
 * column (a count reads none), and recipients are members.
 */
export function modelRuleProblems(
  dataset: DatasetDocument,
  at: string,
  members: ReadonlySet<string>,
): { pointer: string; message: string }[] {
  const rules = dataset.rules.model;
  if (!rules) return [];
  const problems: { pointer: string; message: string }[] = [];
  const problem = (pointer: string, message: string) =>
    problems.push({ pointer: `${at}/rules/model${pointer}`, message });
  const columns = new Map(dataset.columns.map((c) => [c.name, c]));
  const usable = (pointer: string, name: string, numeric: boolean) => {
    const column = columns.get(name);
    if (!column) return problem(pointer, `"${name}" is not a column of "${dataset.name}"`);
    if (column.class !== 'metric' && column.class !== 'dimension')
      return problem(
        pointer,
        `"${name}" is ${column.class === 'quasi' ? 'a quasi-identifier' : column.class}: it never feeds a model`,
      );
    if (numeric && !NUMERIC.has(column.type))
      problem(pointer, `"${name}" is ${column.type}: a feature or label with bounds must be numeric (or a category)`);
  };
  for (const [kind, entries] of [
    ['features', rules.features],
    ['labels', rules.labels],
  ] as const)
    for (const [name, [lower, upper]] of Object.entries(entries)) {
      usable(`/${kind}/${name}`, name, true);
      if (!(lower < upper)) problem(`/${kind}/${name}`, `bounds must satisfy lower < upper, got [${lower}, ${upper}]`);
    }
  for (const [name, feature] of Object.entries(rules.perPerson ?? {})) {
    const pointer = `/perPerson/${name}`;
    if (feature.aggregate === 'count' && feature.column !== undefined)
      problem(pointer, "a count counts the person's rows: it names no column");
    if (feature.aggregate !== 'count') {
      if (feature.column === undefined) problem(pointer, `${feature.aggregate} needs the column it reads`);
      else usable(`${pointer}/column`, feature.column, true);
    }
    const [lower, upper] = feature.bounds;
    if (!(lower < upper)) problem(pointer, `bounds must satisfy lower < upper, got [${lower}, ${upper}]`);
  }
  for (const name of Object.keys(rules.categories ?? {})) {
    usable(`/categories/${name}`, name, false);
    if (columns.get(name)?.class === 'metric')
      problem(`/categories/${name}`, `"${name}" is a metric: only dimensions are one-hot encoded`);
    if (name in rules.features) problem(`/categories/${name}`, `"${name}" is a numeric feature already`);
  }
  rules.recipients.forEach((r, i) => {
    if (!members.has(r)) problem(`/recipients/${i}`, `recipient "${r}" is not a member of this collaboration`);
  });
  return problems;
}
