import type { ColumnDocument, DatasetDocument, Hierarchy } from './policy-document.ts';

/** The most nodes a dataset's generalisation lattice may have: the search checks a share of them. */
export const MAX_LATTICE_NODES = 100_000;

const DATE_UNITS = ['month', 'quarter', 'year'] as const;

/**
 * The cross-checks of one dataset's extract rules, as (pointer, message) pairs: what may be
 * generalised or released, whether each hierarchy fits its column's type, and whether its levels
 * nest (values that share a group at one level share one at every coarser level; the search and
 * the information loss both rely on it).
 */
export function extractRuleProblems(
  dataset: DatasetDocument,
  at: string,
  members: ReadonlySet<string>,
): { pointer: string; message: string }[] {
  const rules = dataset.rules.extract;
  if (!rules) return [];
  const problems: { pointer: string; message: string }[] = [];
  const problem = (pointer: string, message: string) =>
    problems.push({ pointer: `${at}/rules/extract${pointer}`, message });
  const columns = new Map(dataset.columns.map((c) => [c.name, c]));
  rules.recipients.forEach((r, i) => {
    if (!members.has(r)) problem(`/recipients/${i}`, `recipient "${r}" is not a member of this collaboration`);
  });
  let nodes = 1;
  for (const [name, hierarchy] of Object.entries(rules.quasiIdentifiers)) {
    const column = columns.get(name);
    const pointer = `/quasiIdentifiers/${name}`;
    if (!column) {
      problem(pointer, `quasi-identifier "${name}" is not a column of "${dataset.name}"`);
      continue;
    }
    if (column.class === 'identifier' || column.class === 'blocked') {
      const what = column.class === 'identifier' ? 'an identifier' : 'blocked';
      problem(pointer, `"${name}" is ${what}: it never leaves, even generalised`);
    }
    const levels = hierarchyProblems(column, hierarchy, (message) => problem(pointer, message));
    nodes *= levels + 2; // as stored, each listed level, and *
  }
  if (nodes > MAX_LATTICE_NODES)
    problem(
      '/quasiIdentifiers',
      `the hierarchies make ${nodes} generalisations; at most ${MAX_LATTICE_NODES} are searched`,
    );
  const released = new Set(rules.attributes ?? []);
  (rules.attributes ?? []).forEach((name, i) => {
    const column = columns.get(name);
    if (!column) problem(`/attributes/${i}`, `attribute "${name}" is not a column of "${dataset.name}"`);
    else if (column.class === 'quasi')
      problem(`/attributes/${i}`, `"${name}" is a quasi-identifier: it leaves only generalised`);
    else if (column.class === 'identifier' || column.class === 'blocked')
      problem(`/attributes/${i}`, `"${name}" is ${column.class}: it never leaves`);
    if (name in rules.quasiIdentifiers)
      problem(`/attributes/${i}`, `"${name}" is a quasi-identifier: it cannot also be released as stored`);
  });
  for (const [key, rule] of [
    ['l', rules.l],
    ['t', rules.t],
  ] as const) {
    if (rule && !released.has(rule.attribute))
      problem(
        `/${key}/attribute`,
        `the sensitive attribute "${rule.attribute}" must be one of the released attributes`,
      );
  }
  if (rules.l && rules.t && rules.l.attribute !== rules.t.attribute)
    problem(
      '/t/attribute',
      `l and t must protect the same sensitive attribute ("${rules.l.attribute}"): ` +
        'one attribute per dataset is checked',
    );
  return problems;
}

/** Reports what is wrong with one hierarchy; returns its number of listed levels. */
function hierarchyProblems(column: ColumnDocument, hierarchy: Hierarchy, problem: (message: string) => void): number {
  const numeric = column.type === 'INTEGER' || column.type === 'BIGINT' || column.type === 'DOUBLE';
  if ('bands' in hierarchy) {
    if (!numeric) problem(`bands generalise numbers; "${column.name}" is ${column.type}`);
    hierarchy.bands.forEach((width, i) => {
      const before = hierarchy.bands[i - 1];
      if (before !== undefined && (width <= before || width % before !== 0))
        problem(`band width ${width} must be a larger multiple of ${before}, so that bands nest`);
    });
    return hierarchy.bands.length;
  }
  if ('dateTrunc' in hierarchy) {
    if (column.type !== 'DATE' && column.type !== 'TIMESTAMP')
      problem(`dateTrunc generalises dates; "${column.name}" is ${column.type}`);
    hierarchy.dateTrunc.forEach((unit, i) => {
      const before = hierarchy.dateTrunc[i - 1];
      if (before !== undefined && DATE_UNITS.indexOf(unit) <= DATE_UNITS.indexOf(before))
        problem(`"${unit}" after "${before}": date levels go from finer to coarser (month, quarter, year)`);
    });
    return hierarchy.dateTrunc.length;
  }
  if ('prefix' in hierarchy) {
    if (column.type !== 'VARCHAR') problem(`prefix generalises text; "${column.name}" is ${column.type}`);
    hierarchy.prefix.forEach((length, i) => {
      const before = hierarchy.prefix[i - 1];
      if (before !== undefined && length >= before)
        problem(`prefix length ${length} after ${before}: each level keeps fewer characters`);
    });
    return hierarchy.prefix.length;
  }
  if (column.type === 'DOUBLE' || column.type === 'DATE' || column.type === 'TIMESTAMP')
    problem(`groups map exact values; "${column.name}" is ${column.type}: use bands or dateTrunc`);
  hierarchy.groups.forEach((level, i) => {
    const finer = hierarchy.groups[i - 1];
    if (!finer) return;
    // Values sharing a group (unlisted values share *) must share one at the next level.
    const next = new Map<string, string>();
    const all = new Set([...Object.keys(finer), ...Object.keys(level)]);
    for (const value of all) {
      const group = finer[value] ?? '*';
      const coarser = level[value] ?? '*';
      // The values a level leaves unlisted are not known in advance: they can only stay *.
      if (group === '*' && coarser !== '*') {
        problem(`level ${i + 1} gives "${value}" the group "${coarser}", but level ${i} generalised it to *`);
        return;
      }
      const seen = next.get(group);
      if (seen === undefined) next.set(group, coarser);
      else if (seen !== coarser) {
        problem(`level ${i + 1} splits level ${i}'s group "${group}" ("${value}" goes to "${coarser}", not "${seen}")`);
        return;
      }
    }
  });
  return hierarchy.groups.length;
}
