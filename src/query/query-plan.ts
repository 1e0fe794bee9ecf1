import type { Collaboration } from '../policy/collaboration.ts';
import type { AggregateName, ColumnClass } from '../policy/policy-document.ts';
import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { positionOf } from './source-position.ts';
import { QueryChecker, type CheckedRelease } from './query-checker.ts';
import { dpShape, type DpShape } from './dp-shape.ts';
import type { SerializedSql, SqlNode } from './sql-tree.ts';
import type { SqlType } from './sql-types.ts';
import { applyCheckedRewrites } from './rewrite/checked-rewrites.ts';
import { UNREPRESENTABLE } from './sql-parser.ts';
import { deepFreeze } from './rewrite/tree-walker.ts';
import { guardRelease } from './rewrite/guarded-release.ts';

/** The checker's report: what an officer reviews and what a dry run answers. */
export interface QueryReport {
  readonly datasets: readonly string[];
  readonly columns: readonly { readonly dataset: string; readonly column: string; readonly class: ColumnClass }[];
  readonly outputs: readonly {
    readonly name: string;
    readonly kind: 'aggregate' | 'dimension';
    readonly aggregates: readonly AggregateName[];
  }[];
  readonly parameters: readonly string[];
  readonly threshold: {
    readonly minGroupSize: number;
    readonly privacyUnits: readonly string[];
    readonly maxResultRows: number;
    readonly rule: string;
  };
}

export type QueryPlan =
  | {
      readonly ok: true;
      readonly mode: 'threshold';
      readonly tree: SqlNode;
      readonly outputCount: number;
      readonly limit?: number;
      readonly report: QueryReport;
    }
  | {
      readonly ok: true;
      readonly mode: 'dp';
      readonly tree: SqlNode;
      readonly dp: DpShape;
      readonly limit?: number;
      readonly report: QueryReport;
    }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** How a query is planned: ad hoc or a template, its mode, and what the room knows of the tables. */
export interface PlanOptions {
  readonly adHoc: boolean;
  readonly mode?: 'threshold' | 'dp';
  /** datasets whose privacy unit is known to be unique in the loaded table (one row per person) */
  readonly uniqueUnits?: ReadonlySet<string>;
  /** a template's parameters and the types they are bound as */
  readonly parameterTypes?: ReadonlyMap<string, SqlType>;
}

/**
 * parse → check → rewrite, pure: from DuckDB's serialized parse tree to the tree the room runs.
 * Nothing is executed here; the caller deserializes and runs the tree, or shows it (dry run).
 */
const NOT_A_SELECT =
  'Only a single SELECT is allowed: no COPY, ATTACH, INSTALL, SET, PRAGMA, CREATE, INSERT or other statements.';

export function planQuery(
  collaboration: Collaboration,
  sql: string,
  serialized: SerializedSql,
  options: PlanOptions,
): QueryPlan {
  if (serialized.error && serialized.error_type === UNREPRESENTABLE) {
    const message =
      'The query holds a number past the range of DOUBLE (such as 1e400), which the room cannot represent.';
    return { ok: false, diagnostics: [diagnostic('CONSTRUCT_NOT_ALLOWED', message, 'single SELECT', {})] };
  }
  if (serialized.error) {
    const nonSelect = /only select/i.test(serialized.error_message ?? '');
    const position = positionOf(sql, Number(serialized.position));
    const refused = nonSelect
      ? diagnostic('NOT_A_SELECT', NOT_A_SELECT, 'single SELECT', {}, position)
      : diagnostic(
          'SQL_PARSE_ERROR',
          `DuckDB could not parse the query: ${serialized.error_message ?? 'syntax error'}`,
          'single SELECT',
          {},
          position,
        );
    return { ok: false, diagnostics: [refused] };
  }
  const statements = serialized.statements ?? [];
  if (statements.length !== 1) {
    const message = `Send exactly one SELECT; this text holds ${statements.length} statements.`;
    return { ok: false, diagnostics: [diagnostic('MULTIPLE_STATEMENTS', message, 'single SELECT', {})] };
  }
  // Frozen: checking and rewriting read the parsed tree and build new ones; nothing may edit it.
  const tree = deepFreeze((statements[0] as { node: SqlNode }).node);
  const checker = new QueryChecker(collaboration, sql, options.parameterTypes);
  const release = checker.checkRelease(tree);
  const diagnostics = [...checker.diagnostics];
  if (release && options.adHoc && release.parameters.size > 0) {
    const message =
      `Ad hoc SQL takes no $parameters (${[...release.parameters].join(', ')}); parameters belong to ` +
      `approved templates.`;
    diagnostics.push(diagnostic('CONSTRUCT_NOT_ALLOWED', message, 'ad hoc queries', {}));
  }
  if (release && options.adHoc) {
    for (const name of release.datasets) {
      if (!collaboration.datasets.get(name)?.rules.adHocQueries) {
        const message = `The owner of ${name} allows only approved templates, not ad hoc SQL.`;
        diagnostics.push(
          diagnostic('AD_HOC_NOT_ALLOWED', message, `datasets.${name}.rules.adHocQueries`, { dataset: name }),
        );
      }
    }
  }
  if (release && options.mode !== 'dp') {
    for (const name of release.datasets) {
      if (collaboration.datasets.get(name)?.rules.dp?.required) {
        const message =
          `The owner of ${name} requires differential privacy: ` + `send the query with "dp": { "epsilon": … }.`;
        diagnostics.push(diagnostic('DP_REQUIRED', message, `datasets.${name}.rules.dp.required`, { dataset: name }));
      }
    }
  }
  if (!release || diagnostics.length > 0) {
    const unchecked = diagnostic('CONSTRUCT_NOT_ALLOWED', 'The query could not be checked.', 'deny-by-default', {});
    return { ok: false, diagnostics: diagnostics.length > 0 ? diagnostics : [unchecked] };
  }

  const datasets = [...release.datasets].map((d) => collaboration.datasets.get(d)).filter((d) => d !== undefined);
  const strictest = datasets.reduce((a, b) => (b.rules.minGroupSize > a.rules.minGroupSize ? b : a));
  const maxResultRows = Math.min(...datasets.map((d) => d.rules.maxResultRows ?? 10_000));
  const rewritten = applyCheckedRewrites(tree, checker.edits);
  // The counts the checker planned point into the parsed tree; the guard uses their rewritten copies.
  const checked: CheckedRelease = {
    ...release,
    unitCounts: release.unitCounts.map((u) => ({
      ...u,
      expression: rewritten.rewrite(u.expression),
      ...(u.semiJoin && {
        semiJoin: { membership: rewritten.rewrite(u.semiJoin.membership), probe: rewritten.rewrite(u.semiJoin.probe) },
      }),
    })),
  };
  const report = reportOf(collaboration, checked, strictest.name, strictest.rules.minGroupSize, maxResultRows);
  if (options.mode === 'dp') {
    const shaped = dpShape(collaboration, sql, rewritten.tree, checked);
    if (!shaped.ok) return { ok: false, diagnostics: shaped.diagnostics };
    return {
      ok: true,
      mode: 'dp',
      tree: deepFreeze(shaped.shape.rowTree),
      dp: shaped.shape,
      ...(release.limit !== undefined ? { limit: release.limit } : {}),
      report,
    };
  }
  const outputCount = release.outputs.length;
  const guardedTree = deepFreeze(
    guardRelease(
      collaboration,
      rewritten.tree,
      checked,
      strictest.rules.minGroupSize,
      options.uniqueUnits ?? new Set(),
    ),
  );
  return {
    ok: true,
    mode: 'threshold',
    tree: guardedTree,
    outputCount,
    ...(release.limit !== undefined ? { limit: release.limit } : {}),
    report,
  };
}

function reportOf(
  collaboration: Collaboration,
  release: CheckedRelease,
  strictest: string,
  minGroupSize: number,
  maxResultRows: number,
): QueryReport {
  return {
    datasets: [...release.datasets],
    columns: [...release.columns].map(([key, cls]) => {
      const [dataset, column] = key.split('.') as [string, string];
      return { dataset, column, class: cls };
    }),
    outputs: release.outputs,
    parameters: [...release.parameters],
    threshold: {
      minGroupSize,
      privacyUnits: release.unitCounts.map((u) => {
        const unit = collaboration.datasets.get(u.dataset)?.rules.privacyUnit ?? '';
        const through = u.kind === 'semi-join' ? ' (matched through IN)' : '';
        return `${u.dataset}.${unit}${through}`;
      }),
      maxResultRows,
      rule: `datasets.${strictest}.rules.minGroupSize (strictest owner)`,
    },
  };
}
