import type { Dataset } from '../policy/collaboration.ts';
import type { ColumnType } from '../policy/policy-document.ts';
import type { ParameterSpec, TemplateDocument } from './template.ts';

/**
 * Synthetic rows for an officer's dry run of a template: the declared columns of each dataset it
 * reads, filled from nothing but the policy and the template (never from stored data), so the
 * officer sees the shape of what the analyst would be released. One row per person; every dataset
 * draws its people from the same ids so joins match; a text dimension takes its values, skewed, from
 * the enum parameters the SQL compares it with (so such a filter finds rows) and a few of its own.
 */
export const SYNTHETIC_PEOPLE = 4000;

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;

/**
 * The values a parameterised filter could ask of each column: the enum values of a parameter the SQL
 * compares the column with (`c.country = $country`, `country IN $countries`). A reading aid for
 * synthetic rows only, so a plain pattern over the text is enough; columns nothing asks of get none.
 */
function askedValues(template: TemplateDocument): Map<string, string[]> {
  const enums = (spec: ParameterSpec | undefined): readonly string[] =>
    spec?.type === 'enum' ? spec.values : spec?.type === 'list' && spec.items.type === 'enum' ? spec.items.values : [];
  const asked = new Map<string, string[]>();
  const compared = /([A-Za-z_][\w.]*)\s*(?:=|<>|!=|\bIN\b)\s*\(?\s*\$(\w+)|\$(\w+)\s*(?:=|<>|!=)\s*([A-Za-z_][\w.]*)/gi;
  for (const m of template.sql.matchAll(compared)) {
    const column = (m[1] ?? m[4] ?? '').split('.').pop()!.toLowerCase();
    const values = enums(template.parameters[m[2] ?? m[3] ?? '']);
    asked.set(column, [...new Set([...(asked.get(column) ?? []), ...values])].slice(0, 12));
  }
  return asked;
}

/** A value expression per declared type; `u` is a uniform 64-bit hash of (person, column). */
function valueOf(type: ColumnType, column: string, className: string, u: string, vocabulary: string[]): string {
  switch (type) {
    case 'VARCHAR': {
      if (className === 'identifier') return `'person-' || lpad(CAST(i AS VARCHAR), 6, '0')`;
      // Skewed like real categories (the first value about half the people, the last few percent), so
      // the dry run shows small groups suppressed as well as large ones released.
      const words = [...vocabulary, ...['a', 'b', 'c', 'd', 'e'].map((x) => `${column}_${x}`)].map(quote);
      const x = `(CAST(${u} % 1000000 AS DOUBLE) / 1000000)`;
      return `([${words.join(', ')}])[1 + CAST(floor(${words.length} * ${x} * ${x} * ${x}) AS INTEGER)]`;
    }
    case 'BOOLEAN':
      return `${u} % 2 = 0`;
    case 'INTEGER':
    case 'BIGINT':
      return `CAST(${u} % 100 AS ${type})`;
    case 'DOUBLE':
      return `CAST(${u} % 10000 AS DOUBLE) / 100`;
    case 'DATE':
      return `DATE '2025-01-01' + CAST(${u} % 365 AS INTEGER)`;
    case 'TIMESTAMP':
      return `TIMESTAMP '2025-01-01 00:00:00' + to_seconds(CAST(${u} % 31536000 AS BIGINT))`;
  }
}

/**
 * `CREATE TABLE schema.dataset AS SELECT …` for one dataset: room-built SQL from declared names and
 * types only (names are policy identifiers, checked by the policy schema; quoted here regardless).
 */
export function syntheticTableSql(schema: string, dataset: Dataset, template: TemplateDocument): string {
  const asked = askedValues(template);
  const columns = dataset.columns.map((c, k) => {
    const u = `hash(i * 1009 + ${k + 1})`;
    const vocabulary = asked.get(c.name.toLowerCase()) ?? [];
    return `${valueOf(c.type, c.name, c.class, u, vocabulary)} AS "${c.name.replaceAll('"', '""')}"`;
  });
  return (
    `CREATE TABLE "${schema}"."${dataset.name.replaceAll('"', '""')}" AS SELECT ${columns.join(', ')} ` +
    `FROM range(${SYNTHETIC_PEOPLE}) AS t(i)`
  );
}

/** A value for each parameter the caller did not give: the first allowed, or the lower bound. */
export function defaultParameters(template: TemplateDocument, given: Record<string, unknown>): Record<string, unknown> {
  const scalar = (spec: ParameterSpec): unknown => {
    switch (spec.type) {
      case 'enum':
        return spec.values[0];
      case 'string':
        return 'x';
      case 'integer':
      case 'number':
        return spec.minimum ?? 0;
      case 'date':
        return spec.minimum ?? '2025-01-01';
      case 'list':
        return [scalar(spec.items as ParameterSpec)];
    }
  };
  return Object.fromEntries(
    Object.entries(template.parameters).map(([name, spec]) => [name, name in given ? given[name] : scalar(spec)]),
  );
}
