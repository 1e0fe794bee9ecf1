import { diagnostic } from '../errors/diagnostic.ts';
import { refuseIf } from '../errors/refused-error.ts';
import type { ExtractTemplateDocument } from '../extract/extract-template.ts';
import { levelExpressions } from '../extract/generalisation.ts';
import { decomposedLoss, nonUniformEntropyByLevel } from '../extract/information-loss.ts';
import { Lattice, type LevelVector } from '../extract/lattice.ts';
import { flashSearch, type SearchProgress } from '../extract/lattice-search.ts';
import {
  generalisedAt,
  nodeCheckTree,
  readNodeCheck,
  releaseTree,
  topLevels,
  type Criteria,
  type NodeCheck,
  type QuasiIdentifier,
} from '../extract/node-check.ts';
import { verifyRelease, type ReleaseRules } from '../extract/verify-release.ts';
import type { Collaboration, Dataset } from '../policy/collaboration.ts';
import type { Hierarchy } from '../policy/policy-document.ts';
import { aggregateCall, columnRef, selectNode, subqueryRef, tableRef, type SqlNode } from '../query/sql-tree.ts';
import type { Cell } from '../store/result-values.ts';
import { requireOneRowPerPerson } from './one-row-per-person.ts';
import type { ReleaseContext } from './release-context.ts';

/**
 * How an extract generalised and chose its rows, as recorded with it: enough to recompute which
 * people it released and their classes, whatever the policy says later.
 */
export interface ExtractRelease {
  /** quasi-identifier → the lattice level it was released at, and the hierarchy as the policy said then */
  readonly levels: Readonly<Record<string, { readonly level: number; readonly hierarchy: Hierarchy }>>;
  readonly k: number;
  readonly l?: { readonly attribute: string; readonly l: number; readonly kind: 'distinct' | 'entropy' };
  readonly t?: { readonly attribute: string; readonly t: number };
}

/** An earlier extract of the same dataset version to the same recipient: what a new one must compose with. */
export interface EarlierExtract {
  readonly id: string;
  readonly release: ExtractRelease;
}

/** What the room reports of an extract (response, audit entry, dry run): never a value of the data. */
export interface ExtractReport {
  readonly dataset: string;
  /** per quasi-identifier: its level (0 as stored … top *) and what that level is */
  readonly levels: Readonly<Record<string, { readonly level: number; readonly generalisation: string }>>;
  readonly k: { readonly required: number; readonly achieved: number };
  readonly l?: {
    readonly attribute: string;
    readonly kind: 'distinct' | 'entropy';
    readonly required: number;
    readonly achieved: number;
  };
  readonly t?: { readonly attribute: string; readonly required: number; readonly achieved: number };
  readonly people: number;
  readonly suppressed: number;
  readonly suppressedShare: number;
  readonly maxSuppression: number;
  readonly classes: number;
  readonly rows: number;
  /** non-uniform entropy, scaled to [0, 1] (0: as stored, 1: everything *) */
  readonly informationLoss: number;
  readonly search: { readonly nodes: number; readonly checked: number };
  /** earlier extracts this one had to compose with */
  readonly composedWith: readonly string[];
  /** with earlier extracts: only the people the first of them released were eligible (no more, no fewer) */
  readonly restrictedTo?: string;
}

/** A chosen generalisation, ready to release. */
export interface ExtractPlan {
  readonly report: ExtractReport;
  readonly release: ExtractRelease;
  readonly node: LevelVector;
  readonly quasi: readonly QuasiIdentifier[];
  readonly criteria: Criteria;
  readonly from: SqlNode;
  readonly sensitive?: SqlNode;
}

/** The rows that leave, shuffled, with their columns, and the recount that let them leave. */
export interface ExtractRows {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly rows: readonly (readonly Cell[])[];
}

/** A level's name for people: "as stored", "bands of 10", "prefix 3", "month", "groups (level 1)", "*". */
function levelName(hierarchy: Hierarchy, level: number, top: number): string {
  if (level === 0) return 'as stored';
  if (level === top) return '*';
  if ('bands' in hierarchy) return `bands of ${hierarchy.bands[level - 1]}`;
  if ('dateTrunc' in hierarchy) return hierarchy.dateTrunc[level - 1] ?? '*';
  if ('prefix' in hierarchy) return `prefix ${hierarchy.prefix[level - 1]}`;
  return `groups (level ${level})`;
}

/**
 * Chooses the generalisation of an extract: the least-loss node of the template's quasi-identifiers'
 * lattice that meets k (and l, t) within the suppression limit, found by Flash search with one
 * DuckDB GROUP BY per checked node. Earlier extracts to the same recipient constrain it: with the same
 * quasi-identifiers, no level finer than any earlier one; with others, every class must meet the rules
 * in the union of both (their levels are grouped by too). Refuses, naming the rule, when the rows are
 * not one per person or no node qualifies.
 */
export async function planExtract(
  ctx: ReleaseContext,
  collaboration: Collaboration,
  dataset: Dataset,
  template: ExtractTemplateDocument,
  earlier: readonly EarlierExtract[],
  onProgress?: (progress: SearchProgress) => void,
): Promise<ExtractPlan> {
  const rules = dataset.rules.extract;
  if (!rules) throw new Error('planExtract needs a dataset with extract rules (the template check ensures it)');
  const table: SqlNode = { ...tableRef(dataset.name, '__cr_x'), schema_name: collaboration.id };
  const run = async (tree: SqlNode) => (await ctx.engine.query(await ctx.parser.render(tree), {})).rows;
  await requireOneRowPerPerson(ctx, collaboration, dataset, 'EXTRACT_NOT_ONE_ROW_PER_PERSON');
  const quasiOver = (alias: string, name: string, hierarchy: Hierarchy | undefined): QuasiIdentifier => {
    const column = dataset.column.get(name);
    if (!column || !hierarchy)
      throw new Error(`quasi-identifier ${name} is not in the rules (the template check ensures it)`);
    return { column, hierarchy, ref: columnRef([alias, name]) };
  };
  const quasiOf = (name: string) => quasiOver('__cr_x', name, rules.quasiIdentifiers[name]);
  const quasi = template.quasiIdentifiers.map(quasiOf);
  const names = quasi.map((q) => q.column.name).join(', ');
  const sensitiveName = rules.l?.attribute ?? rules.t?.attribute;
  const sensitive = sensitiveName === undefined ? undefined : columnRef(['__cr_x', sensitiveName]);

  // Composition with earlier extracts of this version to the same recipient (Ganta et al. 2008). Every
  // later extract releases exactly the people the first released: no more (a person it suppressed
  // would appear by difference, B minus A), no fewer (A minus B). Its classes are split by every
  // earlier extract's generalised values (rows can be linked across extracts by their attributes), and
  // with the same quasi-identifiers it is never finer than an earlier one.
  const first = earlier[0];
  const releasedBy = (e: EarlierExtract, alias: string) => {
    const names = Object.keys(e.release.levels).sort();
    return {
      quasi: names.map((n) => quasiOver(alias, n, e.release.levels[n]?.hierarchy)),
      node: names.map((n) => e.release.levels[n]?.level ?? 0),
    };
  };
  let from = table;
  if (first) {
    const inner: SqlNode = { ...tableRef(dataset.name, '__cr_y'), schema_name: collaboration.id };
    const { quasi: firstQuasi, node: firstNode } = releasedBy(first, '__cr_y');
    const firstSensitive = first.release.l?.attribute ?? first.release.t?.attribute;
    const sensitiveY = firstSensitive === undefined ? undefined : columnRef(['__cr_y', firstSensitive]);
    const firstCriteria: Criteria = {
      k: first.release.k,
      ...(first.release.l && sensitiveY ? { diversity: { ref: sensitiveY, ...first.release.l } } : {}),
      ...(first.release.t && sensitiveY ? { closeness: { ref: sensitiveY, t: first.release.t.t } } : {}),
    };
    const columns = dataset.columns.map((c) => [c.name, columnRef(['__cr_y', c.name])] as const);
    from = subqueryRef(
      releaseTree(inner, firstQuasi, firstNode, firstCriteria, columns, { generalised: false }),
      '__cr_x',
    );
  }
  const sameSet = (e: EarlierExtract) =>
    Object.keys(e.release.levels).length === quasi.length && quasi.every((q) => q.column.name in e.release.levels);
  const minimum = quasi.map((q) =>
    Math.max(0, ...earlier.filter(sameSet).map((e) => e.release.levels[q.column.name]?.level ?? 0)),
  );
  const distinctEarlier = [...new Map(earlier.map((e) => [JSON.stringify(e.release.levels), e])).values()];
  const alsoGroupedBy = distinctEarlier.flatMap((e) => {
    const { quasi: q, node } = releasedBy(e, '__cr_x');
    return generalisedAt(q, node);
  });
  const criteria: Criteria = {
    k: rules.k,
    ...(rules.l && sensitive ? { diversity: { ref: sensitive, l: rules.l.l, kind: rules.l.kind ?? 'distinct' } } : {}),
    ...(rules.t && sensitive ? { closeness: { ref: sensitive, t: rules.t.t } } : {}),
    ...(alsoGroupedBy.length > 0 ? { alsoGroupedBy } : {}),
  };

  // Information loss per attribute and level, once: people per stored value with its generalisations.
  const byLevel: number[][] = [];
  let people = 0;
  for (const q of quasi) {
    const levels = levelExpressions(q.column, q.hierarchy, q.ref);
    const histogram = await run(
      selectNode({
        select: [...levels.map((l, i) => ({ ...l, alias: `l${i}` })), aggregateCall('count_star', [], { alias: 'n' })],
        from,
        groups: [q.ref],
      }),
    );
    const values = histogram.map((row) => ({
      people: Number(row[row.length - 1]),
      levels: row.slice(0, -1).map((cell) => (cell === null ? '\u0000null' : String(cell))),
    }));
    people = values.reduce((a, v) => a + v.people, 0);
    byLevel.push(nonUniformEntropyByLevel({ values }));
  }
  if (people === 0)
    refuseIf([
      diagnostic(
        'EXTRACT_SUPPRESSION_EXCEEDED',
        `"${dataset.name}" holds no one to extract.`,
        `datasets.${dataset.name}.rules.extract`,
        { dataset: dataset.name, people: 0, maxSuppressed: 0 },
      ),
    ]);
  const loss = decomposedLoss(byLevel);
  const lattice = new Lattice(topLevels(quasi));
  const maxSuppressed = first ? 0 : Math.floor(rules.maxSuppression * people);
  const checks = new Map<string, NodeCheck>();
  const checkNode = async (node: LevelVector): Promise<NodeCheck> => {
    const key = node.join(',');
    let found = checks.get(key);
    if (!found) {
      const [row] = await run(nodeCheckTree(from, quasi, node, criteria));
      found = readNodeCheck(row ?? [], criteria);
      checks.set(key, found);
    }
    return found;
  };
  const atLeastEarlier = (node: LevelVector) => node.every((level, i) => level >= (minimum[i] ?? 0));
  const result = await flashSearch({
    lattice,
    loss,
    check: async (node) => atLeastEarlier(node) && (await checkNode(node)).suppressed <= maxSuppressed,
    ...(onProgress ? { onProgress } : {}),
  });
  const node = result.optimum;
  if (!node || people === 0) {
    const rule = `datasets.${dataset.name}.rules.extract`;
    const meets =
      `k = ${rules.k}${rules.l ? `, l = ${rules.l.l}` : ''}${rules.t ? `, t = ${rules.t.t}` : ''} while ` +
      `suppressing at most ${rules.maxSuppression * 100}% of ${people} people`;
    const last = earlier[earlier.length - 1];
    refuseIf([
      last
        ? diagnostic(
            'EXTRACT_COMPOSITION',
            `No generalisation of ${names} meets ${meets} together with the ${earlier.length} earlier extract(s) ` +
              `of "${dataset.name}" to this recipient (the last: ${last.id}): a new extract releases exactly the ` +
              'people the first released, never finer than an earlier one, meeting the rules in their union.',
            `${rule}.republish`,
            { dataset: dataset.name, extract: last.id, quasiIdentifiers: Object.keys(last.release.levels).sort() },
          )
        : diagnostic(
            'EXTRACT_SUPPRESSION_EXCEEDED',
            `No generalisation of ${names} meets ${meets}.`,
            `${rule}.maxSuppression`,
            { dataset: dataset.name, people, maxSuppressed },
          ),
    ]);
    throw new Error('unreachable');
  }
  const chosen = await checkNode(node);
  const top = lattice.topLevels;
  const report: ExtractReport = {
    dataset: dataset.name,
    levels: Object.fromEntries(
      quasi.map((q, i) => [
        q.column.name,
        { level: node[i] ?? 0, generalisation: levelName(q.hierarchy, node[i] ?? 0, top[i] ?? 0) },
      ]),
    ),
    k: { required: rules.k, achieved: chosen.smallest },
    ...(rules.l && sensitiveName
      ? {
          l: {
            attribute: sensitiveName,
            kind: rules.l.kind ?? 'distinct',
            required: rules.l.l,
            achieved: chosen.diversity ?? 0,
          },
        }
      : {}),
    ...(rules.t && sensitiveName
      ? { t: { attribute: sensitiveName, required: rules.t.t, achieved: chosen.closeness ?? 0 } }
      : {}),
    people,
    suppressed: chosen.suppressed,
    suppressedShare: people === 0 ? 0 : chosen.suppressed / people,
    maxSuppression: rules.maxSuppression,
    classes: chosen.classes,
    rows: people - chosen.suppressed,
    informationLoss: loss(node),
    search: { nodes: lattice.size, checked: result.checked },
    composedWith: earlier.map((e) => e.id),
    ...(first ? { restrictedTo: first.id } : {}),
  };
  const release: ExtractRelease = {
    levels: Object.fromEntries(quasi.map((q, i) => [q.column.name, { level: node[i] ?? 0, hierarchy: q.hierarchy }])),
    k: rules.k,
    ...(rules.l && sensitiveName
      ? { l: { attribute: sensitiveName, l: rules.l.l, kind: rules.l.kind ?? 'distinct' } }
      : {}),
    ...(rules.t && sensitiveName ? { t: { attribute: sensitiveName, t: rules.t.t } } : {}),
  };
  return { report, release, node, quasi, criteria, from, ...(sensitive ? { sensitive } : {}) };
}

/**
 * The rows of a planned extract: generalised quasi-identifiers then the template's attributes, the
 * failing classes dropped whole in SQL, then recounted in JavaScript (k, l, t on the rows themselves;
 * any shortfall refuses the release: it would be a bug, never a leak), then shuffled with the room's
 * random source so row order says nothing about the stored order.
 */
export async function releaseExtractRows(
  ctx: ReleaseContext,
  plan: ExtractPlan,
  template: ExtractTemplateDocument,
): Promise<ExtractRows> {
  const attributes = template.attributes.map((name) => [name, columnRef(['__cr_x', name])] as const);
  const hidden = plan.sensitive ? [['__cr_sensitive', plan.sensitive] as const] : [];
  const tree = releaseTree(plan.from, plan.quasi, plan.node, plan.criteria, [...attributes, ...hidden]);
  const result = await ctx.engine.query(await ctx.parser.render(tree), {});
  const sensitiveColumn = plan.quasi.length + attributes.length;
  const { diversity, closeness } = plan.criteria;
  let whole: Map<Cell, number> | undefined;
  if (closeness && plan.sensitive) {
    const histogram = await ctx.engine.query(
      await ctx.parser.render(
        selectNode({
          select: [plan.sensitive, aggregateCall('count_star', [])],
          from: plan.from,
          groups: [plan.sensitive],
        }),
      ),
      {},
    );
    whole = new Map(histogram.rows.map((row) => [row[0] ?? null, Number(row[1])]));
  }
  const rules: ReleaseRules = {
    quasiColumns: plan.quasi.length,
    k: plan.criteria.k,
    ...(diversity ? { diversity: { column: sensitiveColumn, l: diversity.l, kind: diversity.kind } } : {}),
    ...(closeness && whole ? { closeness: { column: sensitiveColumn, t: closeness.t, whole } } : {}),
  };
  const facts = verifyRelease(result.rows, rules);
  if (facts.problems.length > 0 || facts.rows !== plan.report.rows) {
    ctx.log.error(
      { dataset: plan.report.dataset, problems: facts.problems.slice(0, 5), rows: facts.rows },
      'an extract failed its recount; nothing was released',
    );
    throw new Error('the extract failed its recount');
  }
  const width = plan.quasi.length + attributes.length;
  const rows = result.rows.map((row) => row.slice(0, width));
  // Fisher–Yates with the room's CSPRNG.
  for (let i = rows.length - 1; i > 0; i -= 1) {
    const j = Number(ctx.random.uniformBigInt(BigInt(i + 1)));
    [rows[i], rows[j]] = [rows[j] as Cell[], rows[i] as Cell[]];
  }
  return { columns: result.columns.slice(0, width), rows };
}
