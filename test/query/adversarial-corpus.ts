/**
 * Adversarial SQL corpus for the query checker: each entry tries to get row-level, identifier,
 * blocked or quasi-identifier data out of the demo room (policies/demo.json, committed fixtures),
 * or is a legitimate query that must run and be thresholded. Run by adversarial-corpus.test.ts
 * through the real HTTP API as acme-analyst.
 */
import type { DiagnosticCode } from '../../src/errors/diagnostic.ts';
import type { Cell } from '../../src/store/result-values.ts';

export type Category =
  | 'identifier-output'
  | 'views-and-ctes'
  | 'windows'
  | 'set-operations'
  | 'aggregates'
  | 'grouping-and-metrics'
  | 'identifier-targeting'
  | 'group-of-one'
  | 'blocked-and-quasi'
  | 'files-and-network'
  | 'statements'
  | 'system-catalog'
  | 'star-rowid-structs'
  | 'subqueries'
  | 'joins'
  | 'quoting-and-comments'
  | 'clauses'
  | 'parameters'
  | 'regressions'
  | 'legitimate';

/**
 * Raw SQL over demo.advertiser_customers / demo.publisher_impressions giving, per group, its key cells then the number
 * of people.
 */
export interface GroupSizes {
  readonly sql: string;
  /** how many leading cells of a released row form the group key (0: the whole table is one group) */
  readonly keys: number;
}

export type Expectation =
  /** 422 QUERY_REFUSED whose diagnostics contain every listed code (an empty list: any diagnostic) */
  | { readonly refused: readonly DiagnosticCode[] }
  /** refused before the checker: this HTTP status and error code */
  | { readonly rejected: { readonly status: number; readonly code: string } }
  /** runs; every released group stands for at least minGroupSize people */
  | {
      readonly thresholded: true;
      /** independent group sizes, recomputed on the raw tables */
      readonly sizes?: GroupSizes;
      /** a group key (leading cells) that must not be released */
      readonly absent?: readonly Cell[];
      /** at least one group must have been suppressed */
      readonly suppressed?: true;
      /** raw SQL whose values (one person's) must not appear among the released cells */
      readonly reveals?: string;
      /** a checker refusal (422 QUERY_REFUSED) is an acceptable answer too */
      readonly orRefused?: true;
    };

export interface CorpusEntry {
  readonly name: string;
  readonly category: Category;
  readonly sql: string;
  readonly params?: Readonly<Record<string, unknown>>;
  /** send in DP mode */
  readonly dp?: { readonly epsilon: number };
  readonly expect: Expectation;
}

const AC = 'advertiser_customers';
const PI = 'publisher_impressions';
const RAW_AC = 'demo.advertiser_customers';
const RAW_PI = 'demo.publisher_impressions';

/** A customer alone in (signup_date, country, age_band): 2025-11-28, DE, 55-64; purchase_value 43.80. */
export const TARGET = {
  emailHash: '7647d8c9805afb6e38b359039a199a05a2b3fc1ee021f1eadb35c9d8861bdfca',
  where: "signup_date = DATE '2025-11-28' AND country = 'DE' AND age_band = '55-64'",
  key: ['2025-11-28', 'DE', '55-64'] as const,
};
/** The heaviest publisher user (400 impressions, 213 distinct view_seconds), alone in 2023-02-27 / ES / 35-44. */
export const HEAVY = {
  emailHash: '335fc216c20e72c8357e0fe86862f6a5f54ac84cdf388f4e93577616da18654f',
  key: ['2023-02-27', 'ES', '35-44'] as const,
};

const targetValue = `SELECT purchase_value FROM ${RAW_AC} WHERE ${TARGET.where}`;
const byCountry: GroupSizes = {
  sql: `SELECT country, count(DISTINCT email_hash) FROM ${RAW_AC} GROUP BY country`,
  keys: 1,
};
const wholeAc: GroupSizes = { sql: `SELECT count(DISTINCT email_hash) FROM ${RAW_AC}`, keys: 0 };
const joinedBySegment: GroupSizes = {
  sql:
    `SELECT p.segment, least(count(DISTINCT c.email_hash), count(DISTINCT p.email_hash)) FROM ${RAW_PI} p ` +
    `JOIN ${RAW_AC} c ON p.email_hash = c.email_hash GROUP BY p.segment`,
  keys: 1,
};
const joinedByDevice: GroupSizes = {
  sql:
    `SELECT p.device, least(count(DISTINCT c.email_hash), count(DISTINCT p.email_hash)) FROM ${RAW_PI} p ` +
    `JOIN ${RAW_AC} c ON p.email_hash = c.email_hash GROUP BY p.device`,
  keys: 1,
};
const joinedByDateCountryAge: GroupSizes = {
  sql:
    `SELECT c.signup_date, c.country, c.age_band, least(count(DISTINCT c.email_hash), count(DISTINCT p.email_hash)) ` +
    `FROM ${RAW_AC} c JOIN ${RAW_PI} p ON c.email_hash = p.email_hash GROUP BY ALL`,
  keys: 3,
};

const refused = (...codes: DiagnosticCode[]): Expectation => ({ refused: codes });

export const corpus: readonly CorpusEntry[] = [
  // ── identifiers in output, directly and through expressions ───────────────────────────────
  {
    category: 'identifier-output',
    name: 'select the identifier',
    sql: `SELECT email_hash FROM ${AC}`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: 'group by the identifier',
    sql: `SELECT email_hash, count(*) FROM ${AC} GROUP BY email_hash`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: 'substr of the identifier',
    sql: `SELECT substr(email_hash, 1, 8) AS p, count(*) FROM ${AC} GROUP BY p`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: 'concat with the identifier',
    sql: `SELECT concat('id:', email_hash) AS v, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: 'lower() || of the identifier',
    sql: `SELECT lower(email_hash) || '' AS v, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: 'md5 of the identifier',
    sql: `SELECT md5(email_hash) AS v, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'identifier-output',
    name: 'hash bucket of the identifier',
    sql: `SELECT hash(email_hash) % 1000 AS b, count(*) FROM ${AC} GROUP BY b`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'identifier-output',
    name: 'cast of the identifier',
    sql: `SELECT CAST(email_hash AS BLOB) AS v, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: ':: cast of the identifier',
    sql: `SELECT email_hash::VARCHAR(64) AS v, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: 'identifier under GROUP BY ALL',
    sql: `SELECT c.email_hash, count(*) FROM ${AC} AS c GROUP BY ALL`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: 'identifier in ORDER BY',
    sql: `SELECT country, count(*) FROM ${AC} GROUP BY country ORDER BY min(email_hash)`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-output',
    name: 'identifier in HAVING',
    sql: `SELECT country, count(*) FROM ${AC} GROUP BY country HAVING max(email_hash) > '8'`,
    expect: refused('IDENTIFIER_MISUSE'),
  },

  // ── views: CTEs and FROM subqueries ──────────────────────────────────────────────────────
  {
    category: 'views-and-ctes',
    name: 'CTE renames the identifier to a dimension name',
    sql: `WITH v AS (SELECT email_hash AS country FROM ${AC}) SELECT country, count(*) FROM v GROUP BY country`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'views-and-ctes',
    name: 'FROM subquery renames the identifier',
    sql: `SELECT x, count(*) FROM (SELECT email_hash AS x FROM ${AC}) AS s GROUP BY x`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'views-and-ctes',
    name: 'chain of CTEs renaming the identifier twice',
    sql:
      `WITH a AS (SELECT email_hash AS h FROM ${AC}), b AS (SELECT h AS segment FROM a) SELECT segment, count(*) ` +
      `FROM b GROUP BY segment`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'views-and-ctes',
    name: 'CTE computes a prefix of the identifier',
    sql: `WITH v AS (SELECT left(email_hash, 2) AS p FROM ${AC}) SELECT p, count(*) FROM v GROUP BY p`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'views-and-ctes',
    name: 'CTE flags one person by identifier',
    sql:
      `WITH v AS (SELECT CASE WHEN email_hash = '${TARGET.emailHash}' THEN 'target' ELSE 'other' END AS who, ` +
      `converted FROM ${AC}) SELECT who, sum(converted) FROM v GROUP BY who`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'views-and-ctes',
    name: 'CTE aggregates (threshold would not apply to it)',
    sql: `WITH v AS (SELECT country, count(*) AS n FROM ${AC} GROUP BY country) SELECT n, count(*) FROM v GROUP BY n`,
    expect: refused('AGGREGATE_MISPLACED'),
  },
  {
    category: 'views-and-ctes',
    name: 'subquery picks the top spender with ORDER BY/LIMIT',
    sql:
      `SELECT count(*), sum(s.purchase_value) FROM (SELECT purchase_value FROM ${AC} ORDER BY purchase_value ` +
      `DESC LIMIT 1) AS s`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'views-and-ctes',
    name: 'DISTINCT view without its privacy unit',
    sql: `SELECT s.country, count(*) FROM (SELECT DISTINCT country, age_band FROM ${AC}) AS s GROUP BY s.country`,
    expect: refused('VIEW_DROPS_PRIVACY_UNIT'),
  },
  {
    category: 'views-and-ctes',
    name: 'CTE shadows a dataset name',
    sql:
      `WITH ${PI} AS (SELECT email_hash, country AS segment FROM ${AC}) SELECT segment, count(*) FROM ${PI} ` +
      `GROUP BY segment`,
    expect: refused('RESERVED_NAME'),
  },
  {
    category: 'views-and-ctes',
    name: 'CTE with a reserved __cr_ name',
    sql:
      `WITH __cr_units AS (SELECT email_hash, country FROM ${AC}) SELECT country, count(*) FROM __cr_units ` +
      `GROUP BY country`,
    expect: refused('RESERVED_NAME'),
  },
  {
    category: 'views-and-ctes',
    name: "output alias collides with the room's unit count column",
    sql: `SELECT country, count(*) AS __cr_units_0 FROM ${AC} GROUP BY country`,
    expect: refused('RESERVED_NAME'),
  },
  {
    category: 'views-and-ctes',
    name: 'view column alias with the reserved prefix',
    sql:
      `SELECT s.country, count(*) FROM (SELECT country, purchases AS __cr_unit_0 FROM ${AC}) AS s ` +
      `GROUP BY s.country`,
    expect: refused('RESERVED_NAME'),
  },
  {
    category: 'views-and-ctes',
    name: 'duplicate view column names: the unit count is pointed at view_seconds (group of one released)',
    sql: `SELECT s.signup_date, s.country, s.age_band, count(*) AS impressions, avg(s.purchase_value) AS value
FROM (SELECT p.view_seconds AS u, c.email_hash AS u, p.view_seconds AS v, p.email_hash AS v,
             c.signup_date, c.country, c.age_band, c.purchase_value
      FROM ${AC} AS c JOIN ${PI} AS p ON c.email_hash = p.email_hash) AS s
GROUP BY s.signup_date, s.country, s.age_band`,
    expect: { thresholded: true, sizes: joinedByDateCountryAge, absent: HEAVY.key, orRefused: true },
  },
  {
    category: 'views-and-ctes',
    name: 'duplicate view column names: the identifier passes as a dimension and is grouped on',
    sql: `WITH s AS (SELECT c.email_hash AS d, c.country AS d, p.view_seconds AS u, c.email_hash AS u,
                  p.view_seconds AS v, p.email_hash AS v
           FROM ${AC} AS c JOIN ${PI} AS p ON c.email_hash = p.email_hash)
SELECT d, count(*) AS impressions FROM s GROUP BY d`,
    expect: {
      thresholded: true,
      sizes: { sql: `SELECT country, count(DISTINCT email_hash) FROM ${RAW_AC} GROUP BY country`, keys: 1 },
      orRefused: true,
    },
  },

  {
    category: 'views-and-ctes',
    name: 'duplicate view column names: a metric passes as a dimension and is grouped on',
    sql:
      `WITH v AS (SELECT purchase_value AS d, country AS d, email_hash FROM ${AC}) SELECT d, count(*) AS n ` +
      `FROM v GROUP BY d`,
    expect: refused(),
  },

  // ── windows ─────────────────────────────────────────────────────────────────────────────
  {
    category: 'windows',
    name: 'row_number over groups',
    sql: `SELECT country, count(*), row_number() OVER () AS r FROM ${AC} GROUP BY country`,
    expect: refused('WINDOW_NOT_ALLOWED'),
  },
  {
    category: 'windows',
    name: 'first_value of the identifier per partition',
    sql: `SELECT first_value(email_hash) OVER (PARTITION BY country) AS e, country FROM ${AC}`,
    expect: refused('WINDOW_NOT_ALLOWED'),
  },
  {
    category: 'windows',
    name: 'one-row window frame over a metric',
    sql:
      `SELECT sum(purchase_value) OVER (ORDER BY signup_date ROWS BETWEEN CURRENT ROW AND CURRENT ROW) AS v ` +
      `FROM ${AC}`,
    expect: refused('WINDOW_NOT_ALLOWED'),
  },
  {
    category: 'windows',
    name: 'QUALIFY',
    sql: `SELECT country, count(*) FROM ${AC} GROUP BY country QUALIFY row_number() OVER (ORDER BY country) = 1`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },

  // ── set operations ──────────────────────────────────────────────────────────────────────
  {
    category: 'set-operations',
    name: 'UNION ALL an identifier list under an aggregate',
    sql: `SELECT country, count(*) FROM ${AC} GROUP BY country UNION ALL SELECT email_hash, 1 FROM ${AC}`,
    expect: refused('SET_OPERATION_NOT_ALLOWED'),
  },
  {
    category: 'set-operations',
    name: 'INTERSECT identifiers of both datasets',
    sql: `SELECT email_hash FROM ${AC} INTERSECT SELECT email_hash FROM ${PI}`,
    expect: refused('SET_OPERATION_NOT_ALLOWED'),
  },
  {
    category: 'set-operations',
    name: 'EXCEPT identifiers',
    sql: `SELECT email_hash FROM ${AC} EXCEPT SELECT email_hash FROM ${PI}`,
    expect: refused('SET_OPERATION_NOT_ALLOWED'),
  },
  {
    category: 'set-operations',
    name: 'UNION inside a CTE',
    sql:
      `WITH v AS (SELECT email_hash, country FROM ${AC} UNION SELECT email_hash, segment FROM ${PI}) SELECT ` +
      `country, count(*) FROM v GROUP BY country`,
    expect: refused('SET_OPERATION_NOT_ALLOWED'),
  },

  // ── aggregates that can release a row's value ───────────────────────────────────────────
  {
    category: 'aggregates',
    name: 'list()',
    sql: `SELECT country, list(email_hash) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'array_agg() of a blocked column',
    sql: `SELECT country, array_agg(phone) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'string_agg()',
    sql: `SELECT country, string_agg(email_hash, ',') FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'histogram() of a quasi-identifier',
    sql: `SELECT country, histogram(zip_code) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'min() of the identifier',
    sql: `SELECT country, min(email_hash) FROM ${AC} GROUP BY country`,
    expect: refused('IDENTIFIER_MISUSE', 'AGGREGATE_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'max() of a metric (not an allowed aggregate)',
    sql: `SELECT country, max(purchase_value) FROM ${AC} GROUP BY country`,
    expect: refused('AGGREGATE_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'median() of a metric',
    sql: `SELECT country, median(purchase_value) FROM ${AC} GROUP BY country`,
    expect: refused('AGGREGATE_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'any_value()',
    sql: `SELECT country, any_value(email_hash) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'first()',
    sql: `SELECT country, first(email_hash) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'arg_max() identifier by purchase value',
    sql: `SELECT country, arg_max(email_hash, purchase_value) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'arg_min() of a blocked column',
    sql: `SELECT country, arg_min(phone, signup_date) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'mode()',
    sql: `SELECT country, mode(email_hash) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'ORDER BY inside an aggregate',
    sql: `SELECT country, sum(purchase_value ORDER BY signup_date) FROM ${AC} GROUP BY country`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'aggregates',
    name: 'count() of an expression of the identifier',
    sql: `SELECT country, count(email_hash || 'x') FROM ${AC} GROUP BY country`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'aggregates',
    name: 'sum(length()) of the identifier',
    sql: `SELECT country, sum(length(email_hash)) FROM ${AC} GROUP BY country`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'aggregates',
    name: 'avg(CASE on the identifier)',
    sql: `SELECT avg(CASE WHEN email_hash = '${TARGET.emailHash}' THEN purchase_value END) AS v, count(*) FROM ${AC}`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'aggregates',
    name: 'FILTER on the identifier',
    sql: `SELECT count(*) FILTER (WHERE email_hash = '${TARGET.emailHash}') AS hit, count(*) FROM ${AC}`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'aggregates',
    name: 'nested aggregates',
    sql: `SELECT sum(count(*)) FROM ${AC} GROUP BY country`,
    expect: refused('AGGREGATE_MISPLACED'),
  },
  {
    category: 'aggregates',
    name: 'qualified aggregate main.sum()',
    sql: `SELECT country, main.sum(purchases) FROM ${AC} GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },

  // ── grouping by forbidden columns, metrics outside aggregates ───────────────────────────
  {
    category: 'grouping-and-metrics',
    name: 'group by a blocked column',
    sql: `SELECT phone, count(*) FROM ${AC} GROUP BY phone`,
    expect: refused('COLUMN_BLOCKED'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'group by zip_code (quasi)',
    sql: `SELECT zip_code, count(*) FROM ${AC} GROUP BY zip_code`,
    expect: refused('QUASI_IDENTIFIER_NOT_ALLOWED'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'group by birth_year (quasi)',
    sql: `SELECT birth_year, count(*) FROM ${AC} GROUP BY birth_year`,
    expect: refused('QUASI_IDENTIFIER_NOT_ALLOWED'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'group by a metric',
    sql: `SELECT purchase_value, count(*) FROM ${AC} GROUP BY purchase_value`,
    expect: refused('METRIC_OUTSIDE_AGGREGATE'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'metric in WHERE',
    sql: `SELECT count(*) FROM ${AC} WHERE purchase_value > 1900`,
    expect: refused('METRIC_OUTSIDE_AGGREGATE'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'metric selected bare',
    sql: `SELECT country, purchase_value FROM ${AC}`,
    expect: refused('METRIC_OUTSIDE_AGGREGATE'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'metric in a CASE bucket',
    sql: `SELECT CASE WHEN purchase_value > 1000 THEN 'big' ELSE 'small' END AS b, count(*) FROM ${AC} GROUP BY b`,
    expect: refused('METRIC_OUTSIDE_AGGREGATE'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'metric through a CTE into GROUP BY',
    sql:
      `WITH v AS (SELECT email_hash, purchase_value > 1000 AS rich FROM ${AC}) SELECT rich, count(*) FROM v ` +
      `GROUP BY rich`,
    expect: refused('METRIC_OUTSIDE_AGGREGATE'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'dimension rows without aggregation',
    sql: `SELECT country, age_band, signup_date FROM ${AC}`,
    expect: refused('NOT_AGGREGATED'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'SELECT DISTINCT of dimensions',
    sql: `SELECT DISTINCT signup_date, country FROM ${AC}`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'ROLLUP',
    sql: `SELECT country, age_band, count(*) FROM ${AC} GROUP BY ROLLUP (country, age_band)`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'CUBE',
    sql: `SELECT country, age_band, count(*) FROM ${AC} GROUP BY CUBE (country, age_band)`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'grouping-and-metrics',
    name: 'GROUPING SETS',
    sql: `SELECT country, age_band, count(*) FROM ${AC} GROUP BY GROUPING SETS ((country), (age_band), ())`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },

  // ── targeting one person by identifier ──────────────────────────────────────────────────
  {
    category: 'identifier-targeting',
    name: 'WHERE identifier = literal',
    sql: `SELECT count(*), sum(purchase_value) FROM ${AC} WHERE email_hash = '${TARGET.emailHash}'`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-targeting',
    name: 'WHERE identifier IN (literal)',
    sql: `SELECT count(*), sum(converted) FROM ${AC} WHERE email_hash IN ('${TARGET.emailHash}')`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-targeting',
    name: 'WHERE identifier LIKE prefix',
    sql: `SELECT count(*) FROM ${AC} WHERE email_hash LIKE '7647%'`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-targeting',
    name: 'WHERE starts_with(identifier)',
    sql: `SELECT count(*) FROM ${AC} WHERE starts_with(email_hash, '76')`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'identifier-targeting',
    name: 'identifier compared in JOIN ON with a literal',
    sql:
      `SELECT p.device, count(*) FROM ${AC} AS c JOIN ${PI} AS p ON c.email_hash = p.email_hash AND c.email_hash ` +
      `= '${TARGET.emailHash}' GROUP BY p.device`,
    expect: refused('IDENTIFIER_MISUSE'),
  },

  // ── groups of one through selective dimensions ──────────────────────────────────────────
  {
    category: 'group-of-one',
    name: 'WHERE narrowed to one customer, no GROUP BY',
    sql: `SELECT count(*) AS n, sum(purchase_value) AS v, sum(converted) AS c FROM ${AC} WHERE ${TARGET.where}`,
    expect: { thresholded: true, suppressed: true, reveals: targetValue },
  },
  {
    category: 'group-of-one',
    name: 'GROUP BY signup_date, country, age_band',
    sql: `SELECT signup_date, country, age_band, count(*) AS n, avg(purchase_value) AS v FROM ${AC} GROUP BY ALL`,
    expect: {
      thresholded: true,
      suppressed: true,
      absent: TARGET.key,
      sizes: {
        sql: `SELECT signup_date, country, age_band, count(DISTINCT email_hash) FROM ${RAW_AC} GROUP BY ALL`,
        keys: 3,
      },
    },
  },
  {
    category: 'group-of-one',
    name: 'join narrowed to one customer by dimensions',
    sql:
      `SELECT p.device, count(*) AS impressions, avg(c.purchase_value) AS v FROM ${PI} AS p JOIN ${AC} AS c ` +
      `ON p.email_hash = c.email_hash WHERE c.signup_date = DATE '2023-02-27' AND c.country = 'ES' AND c.age_band ` +
      `= '35-44' GROUP BY p.device`,
    expect: {
      thresholded: true,
      suppressed: true,
      reveals: `SELECT purchase_value FROM ${RAW_AC} WHERE email_hash = '${HEAVY.emailHash}'`,
    },
  },
  {
    category: 'group-of-one',
    name: "IN-subquery narrowed by the partner's dimensions",
    sql:
      `SELECT count(*) AS n, sum(c.purchase_value) AS v FROM ${AC} AS c WHERE c.email_hash IN (SELECT p.email_hash ` +
      `FROM ${PI} AS p WHERE p.impression_date = DATE '2025-10-29' AND p.device = 'tablet' AND p.segment = ` +
      `'finance' AND p.campaign = 'spring_sale')`,
    expect: { thresholded: true, suppressed: true },
  },
  {
    category: 'group-of-one',
    name: "one person's value via FILTER inside a large group",
    sql: `SELECT count(*) AS customers, sum(purchase_value) FILTER (WHERE ${TARGET.where}) AS target_value FROM ${AC}`,
    expect: { thresholded: true, reveals: targetValue, orRefused: true },
  },
  {
    category: 'group-of-one',
    name: "one person's value via CASE inside sum()",
    sql:
      `SELECT count(*) AS customers, sum(CASE WHEN ${TARGET.where} THEN purchase_value ELSE 0 END) AS target_value ` +
      `FROM ${AC}`,
    expect: { thresholded: true, reveals: targetValue, orRefused: true },
  },
  {
    category: 'group-of-one',
    name: "one person's existence via count(*) FILTER",
    sql: `SELECT count(*) AS customers, count(*) FILTER (WHERE ${TARGET.where}) AS matches FROM ${AC}`,
    expect: { thresholded: true, reveals: `SELECT count(*) FROM ${RAW_AC} WHERE ${TARGET.where}`, orRefused: true },
  },
  {
    category: 'group-of-one',
    name: "one person's value via a 0/1 multiplier inside avg()",
    sql:
      `SELECT count(*) AS customers, avg(purchase_value * CAST(${TARGET.where} AS INTEGER)) * count(*) ` +
      `AS target_value FROM ${AC}`,
    expect: { thresholded: true, reveals: targetValue, orRefused: true },
  },
  {
    category: 'group-of-one',
    name: "one person's value via CASE on a partner IN-subquery inside sum()",
    sql:
      `SELECT count(*) AS customers, sum(CASE WHEN email_hash IN (SELECT p.email_hash FROM ${PI} AS p WHERE ` +
      `p.impression_date = DATE '2025-10-29' AND p.device = 'tablet' AND p.segment = 'finance' AND p.campaign ` +
      `= 'spring_sale') THEN purchase_value ELSE 0 END) AS target_value FROM ${AC}`,
    expect: {
      thresholded: true,
      orRefused: true,
      reveals:
        `SELECT sum(purchase_value) FROM ${RAW_AC} WHERE email_hash IN (SELECT email_hash FROM ${RAW_PI} WHERE ` +
        `impression_date = DATE '2025-10-29' AND device = 'tablet' AND segment = 'finance' AND campaign = ` +
        `'spring_sale')`,
    },
  },
  {
    category: 'group-of-one',
    name: "error oracle: a failing CAST reached only by one person's row",
    sql:
      `SELECT count(*) AS customers, sum(CASE WHEN ${TARGET.where} AND purchase_value > 40 THEN CAST(country ` +
      `AS INTEGER) ELSE 0 END) AS probe FROM ${AC}`,
    expect: { thresholded: true, orRefused: true },
  },

  {
    category: 'group-of-one',
    name: 'error oracle in WHERE on dimensions only',
    sql:
      `SELECT country, count(*) AS n FROM ${AC} WHERE CASE WHEN signup_date = DATE '2025-11-28' AND age_band ` +
      `= '55-64' THEN CAST(country AS INTEGER) = 0 ELSE true END GROUP BY country`,
    expect: { thresholded: true, sizes: byCountry, orRefused: true },
  },

  // ── blocked columns and quasi-identifiers anywhere ──────────────────────────────────────
  {
    category: 'blocked-and-quasi',
    name: 'blocked column in WHERE',
    sql: `SELECT count(*) FROM ${AC} WHERE phone LIKE '+44%'`,
    expect: refused('COLUMN_BLOCKED'),
  },
  {
    category: 'blocked-and-quasi',
    name: 'blocked column inside count()',
    sql: `SELECT count(phone) FROM ${AC}`,
    expect: refused('COLUMN_BLOCKED'),
  },
  {
    category: 'blocked-and-quasi',
    name: 'blocked column inside count(DISTINCT)',
    sql: `SELECT count(DISTINCT ip_address) FROM ${PI}`,
    expect: refused('COLUMN_BLOCKED'),
  },
  {
    category: 'blocked-and-quasi',
    name: 'blocked column inside CASE',
    sql: `SELECT CASE WHEN phone IS NULL THEN 'n' ELSE 'y' END AS has_phone, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('COLUMN_BLOCKED'),
  },
  {
    category: 'blocked-and-quasi',
    name: 'prefix of the blocked ip address',
    sql: `SELECT left(ip_address, 10) AS net, count(*) FROM ${PI} GROUP BY 1`,
    expect: refused('COLUMN_BLOCKED'),
  },
  {
    category: 'blocked-and-quasi',
    name: 'blocked column passed through a CTE',
    sql:
      `WITH v AS (SELECT email_hash, ip_address AS device FROM ${PI}) ` +
      `SELECT device, count(*) FROM v GROUP BY device`,
    expect: refused('COLUMN_BLOCKED'),
  },
  {
    category: 'blocked-and-quasi',
    name: 'quasi inside count()',
    sql: `SELECT count(zip_code) FROM ${AC}`,
    expect: refused('QUASI_IDENTIFIER_NOT_ALLOWED'),
  },
  {
    category: 'blocked-and-quasi',
    name: 'quasi inside sum()',
    sql: `SELECT sum(birth_year) FROM ${AC}`,
    expect: refused('QUASI_IDENTIFIER_NOT_ALLOWED'),
  },
  {
    category: 'blocked-and-quasi',
    name: 'quasi in WHERE',
    sql: `SELECT count(*) FROM ${AC} WHERE birth_year = 1971 AND zip_code = '20430'`,
    expect: refused('QUASI_IDENTIFIER_NOT_ALLOWED'),
  },

  // ── files and network ───────────────────────────────────────────────────────────────────
  {
    category: 'files-and-network',
    name: 'read_csv of the fixture',
    sql: `SELECT count(*) FROM read_csv('fixtures/advertiser_customers.csv')`,
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: 'read_parquet',
    sql: `SELECT count(*) FROM read_parquet('/tmp/x.parquet')`,
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: 'read_text /etc/passwd',
    sql: `SELECT content FROM read_text('/etc/passwd')`,
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: 'read_blob',
    sql: `SELECT count(*) FROM read_blob('/etc/hostname')`,
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: 'glob',
    sql: `SELECT count(*) FROM glob('/*')`,
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: "'/etc/passwd' as a table",
    sql: `SELECT count(*) FROM '/etc/passwd'`,
    expect: refused('TABLE_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: 'fixture CSV path as a table',
    sql: `SELECT country, count(*) FROM 'fixtures/advertiser_customers.csv' GROUP BY country`,
    expect: refused('TABLE_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: 'http URL as a table',
    sql: `SELECT count(*) FROM 'https://example.com/leak.csv'`,
    expect: refused('TABLE_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: 'read_csv_auto of a metadata URL',
    sql: `SELECT count(*) FROM read_csv_auto('http://169.254.169.254/latest/meta-data/')`,
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'files-and-network',
    name: 'file function joined to a dataset',
    sql:
      `SELECT count(*) FROM ${AC} AS c JOIN read_csv('fixtures/publisher_impressions.csv') AS f ON c.email_hash ` +
      `= f.email_hash`,
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },

  // ── statements other than one SELECT ────────────────────────────────────────────────────
  {
    category: 'statements',
    name: 'COPY a dataset to a file',
    sql: `COPY ${AC} TO '/tmp/leak.csv'`,
    expect: refused('NOT_A_SELECT'),
  },
  {
    category: 'statements',
    name: 'COPY a query to a file',
    sql: `COPY (SELECT * FROM ${AC}) TO '/tmp/leak.parquet' (FORMAT parquet)`,
    expect: refused('NOT_A_SELECT'),
  },
  { category: 'statements', name: 'ATTACH', sql: `ATTACH '/tmp/evil.duckdb' AS evil`, expect: refused('NOT_A_SELECT') },
  { category: 'statements', name: 'DETACH', sql: 'DETACH demo', expect: refused('NOT_A_SELECT') },
  { category: 'statements', name: 'PRAGMA', sql: 'PRAGMA database_list', expect: refused('NOT_A_SELECT') },
  { category: 'statements', name: 'SET', sql: 'SET enable_external_access = true', expect: refused('NOT_A_SELECT') },
  { category: 'statements', name: 'RESET', sql: 'RESET memory_limit', expect: refused('NOT_A_SELECT') },
  { category: 'statements', name: 'INSTALL', sql: 'INSTALL httpfs', expect: refused('NOT_A_SELECT') },
  { category: 'statements', name: 'LOAD', sql: 'LOAD httpfs', expect: refused('NOT_A_SELECT') },
  { category: 'statements', name: 'CREATE MACRO', sql: `CREATE MACRO leak(x) AS x`, expect: refused('NOT_A_SELECT') },
  {
    category: 'statements',
    name: 'CREATE TABLE AS',
    sql: `CREATE TABLE copy AS SELECT * FROM ${AC}`,
    expect: refused('NOT_A_SELECT'),
  },
  {
    category: 'statements',
    name: 'CREATE VIEW',
    sql: `CREATE VIEW v AS SELECT email_hash AS country FROM ${AC}`,
    expect: refused('NOT_A_SELECT'),
  },
  {
    category: 'statements',
    name: 'INSERT',
    sql: `INSERT INTO demo.${AC} (email_hash) VALUES ('x')`,
    expect: refused('NOT_A_SELECT'),
  },
  {
    category: 'statements',
    name: 'UPDATE',
    sql: `UPDATE demo.${AC} SET converted = 1`,
    expect: refused('NOT_A_SELECT'),
  },
  { category: 'statements', name: 'DELETE', sql: `DELETE FROM demo.${AC}`, expect: refused('NOT_A_SELECT') },
  { category: 'statements', name: 'DROP', sql: `DROP TABLE demo.${AC}`, expect: refused('NOT_A_SELECT') },
  {
    category: 'statements',
    name: 'EXPORT DATABASE',
    sql: `EXPORT DATABASE '/tmp/leak'`,
    expect: refused('NOT_A_SELECT'),
  },
  {
    category: 'statements',
    name: 'CALL a table function',
    sql: 'CALL duckdb_settings()',
    expect: refused('NOT_A_SELECT'),
  },
  { category: 'statements', name: 'two SELECTs', sql: 'SELECT 1; SELECT 2', expect: refused('MULTIPLE_STATEMENTS') },
  {
    category: 'statements',
    name: 'legitimate SELECT followed by COPY',
    sql: `SELECT country, count(*) FROM ${AC} GROUP BY country; COPY ${AC} TO '/tmp/leak.csv'`,
    expect: refused('NOT_A_SELECT'),
  },
  { category: 'statements', name: 'SUMMARIZE (min/max per column)', sql: `SUMMARIZE ${AC}`, expect: refused() },
  { category: 'statements', name: 'DESCRIBE', sql: `DESCRIBE ${AC}`, expect: refused() },
  {
    category: 'statements',
    name: 'EXPLAIN ANALYZE',
    sql: `EXPLAIN ANALYZE SELECT count(*) FROM ${AC}`,
    expect: refused('NOT_A_SELECT'),
  },
  { category: 'statements', name: 'PIVOT statement', sql: `PIVOT ${AC} ON country USING count(*)`, expect: refused() },
  {
    category: 'statements',
    name: 'UNPIVOT statement',
    sql: `UNPIVOT ${AC} ON purchases, converted INTO NAME k VALUE v`,
    expect: refused(),
  },

  // ── settings, environment, catalog ──────────────────────────────────────────────────────
  {
    category: 'system-catalog',
    name: 'duckdb_settings()',
    sql: 'SELECT count(*) FROM duckdb_settings()',
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'current_setting()',
    sql: `SELECT current_setting('home_directory') AS h, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'getenv()',
    sql: `SELECT country, count(*) FROM ${AC} WHERE country = getenv('HOME') GROUP BY country`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'version()',
    sql: `SELECT version() AS v, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'current_database()',
    sql: `SELECT current_database() AS d, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'pragma_table_info()',
    sql: `SELECT count(*) FROM pragma_table_info('${AC}')`,
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'information_schema.columns',
    sql: 'SELECT count(*) FROM information_schema.columns',
    expect: refused('QUALIFIED_NAME_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'duckdb_tables()',
    sql: 'SELECT count(*) FROM duckdb_tables()',
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'duckdb_columns()',
    sql: 'SELECT count(*) FROM duckdb_columns()',
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'sqlite_master',
    sql: 'SELECT count(*) FROM sqlite_master',
    expect: refused('TABLE_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'pg_catalog.pg_tables',
    sql: 'SELECT count(*) FROM pg_catalog.pg_tables',
    expect: refused('QUALIFIED_NAME_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'schema-qualified dataset',
    sql: `SELECT country, count(*) FROM demo.${AC} GROUP BY country`,
    expect: refused('QUALIFIED_NAME_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'catalog-qualified dataset',
    sql: `SELECT country, count(*) FROM memory.demo.${AC} GROUP BY country`,
    expect: refused('QUALIFIED_NAME_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'three-part column name',
    sql: `SELECT demo.${AC}.country, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('QUALIFIED_NAME_NOT_ALLOWED'),
  },
  {
    category: 'system-catalog',
    name: 'catalog table name without parentheses',
    sql: 'SELECT count(*) FROM duckdb_tables',
    expect: refused('TABLE_NOT_ALLOWED'),
  },

  // ── rowid, star, structs, lists, lambdas ────────────────────────────────────────────────
  {
    category: 'star-rowid-structs',
    name: 'rowid in output',
    sql: `SELECT rowid, count(*) FROM ${AC} GROUP BY rowid`,
    expect: refused('COLUMN_UNKNOWN'),
  },
  {
    category: 'star-rowid-structs',
    name: 'rowid in WHERE',
    sql: `SELECT count(*), sum(purchase_value) FROM ${AC} WHERE rowid = 17`,
    expect: refused('COLUMN_UNKNOWN'),
  },
  { category: 'star-rowid-structs', name: 'SELECT *', sql: `SELECT * FROM ${AC}`, expect: refused('STAR_NOT_ALLOWED') },
  {
    category: 'star-rowid-structs',
    name: 'FROM-first without SELECT',
    sql: `FROM ${AC}`,
    expect: refused('STAR_NOT_ALLOWED'),
  },
  {
    category: 'star-rowid-structs',
    name: 'COLUMNS(regex)',
    sql: `SELECT COLUMNS('email.*'), count(*) FROM ${AC} GROUP BY ALL`,
    expect: refused('STAR_NOT_ALLOWED'),
  },
  {
    category: 'star-rowid-structs',
    name: 'COLUMNS(*) inside an aggregate',
    sql: `SELECT count(DISTINCT COLUMNS(*)) FROM ${AC}`,
    expect: refused('STAR_NOT_ALLOWED'),
  },
  {
    category: 'star-rowid-structs',
    name: '* EXCLUDE',
    sql: `SELECT * EXCLUDE (phone) FROM ${AC}`,
    expect: refused('STAR_NOT_ALLOWED'),
  },
  {
    category: 'star-rowid-structs',
    name: '* REPLACE',
    sql: `SELECT * REPLACE (country AS phone) FROM ${AC}`,
    expect: refused('STAR_NOT_ALLOWED'),
  },
  {
    category: 'star-rowid-structs',
    name: 'table alias as a whole-row struct',
    sql: `SELECT c, count(*) FROM ${AC} AS c GROUP BY c`,
    expect: refused('COLUMN_UNKNOWN'),
  },
  {
    category: 'star-rowid-structs',
    name: 'struct literal over the identifier',
    sql: `SELECT {'e': email_hash}.e AS x, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused(),
  },
  {
    category: 'star-rowid-structs',
    name: 'list element access',
    sql: `SELECT [email_hash, phone][2] AS x, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused(),
  },
  {
    category: 'star-rowid-structs',
    name: 'lambda',
    sql: `SELECT list_transform([email_hash], x -> upper(x)) AS x, count(*) FROM ${AC} GROUP BY 1`,
    expect: refused(),
  },
  {
    category: 'star-rowid-structs',
    name: 'struct_extract on the table row',
    sql: `SELECT struct_extract(c, 'email_hash') AS x, count(*) FROM ${AC} AS c GROUP BY 1`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },

  // ── subqueries in expressions ───────────────────────────────────────────────────────────
  {
    category: 'subqueries',
    name: 'scalar subquery returning an identifier',
    sql: `SELECT (SELECT email_hash FROM ${AC} LIMIT 1) AS e, count(*) FROM ${AC}`,
    expect: refused('SUBQUERY_NOT_ALLOWED'),
  },
  {
    category: 'subqueries',
    name: "scalar subquery returning one person's value",
    sql:
      `SELECT country, count(*), (SELECT sum(purchase_value) FROM ${AC} WHERE ${TARGET.where}) AS v FROM ${AC} ` +
      `GROUP BY country`,
    expect: refused('SUBQUERY_NOT_ALLOWED'),
  },
  {
    category: 'subqueries',
    name: 'EXISTS',
    sql:
      `SELECT count(*) FROM ${AC} AS c WHERE EXISTS (SELECT 1 FROM ${PI} AS p WHERE p.email_hash = c.email_hash ` +
      `AND p.device = 'ctv')`,
    expect: refused('SUBQUERY_NOT_ALLOWED'),
  },
  {
    category: 'subqueries',
    name: 'correlated IN subquery',
    sql:
      `SELECT count(*) FROM ${AC} AS c WHERE c.email_hash IN (SELECT p.email_hash FROM ${PI} AS p WHERE p.segment ` +
      `= c.country)`,
    expect: refused('COLUMN_UNKNOWN'),
  },
  {
    category: 'subqueries',
    name: 'IN subquery on the same dataset (self semi-join)',
    sql:
      `SELECT count(*) FROM ${AC} AS c ` +
      `WHERE c.email_hash IN (SELECT a.email_hash FROM ${AC} AS a WHERE a.country = 'DE')`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'subqueries',
    name: 'IN subquery selecting a constant identifier',
    sql: `SELECT count(*) FROM ${AC} AS c WHERE c.email_hash IN (SELECT '${TARGET.emailHash}' FROM ${PI})`,
    expect: refused('SUBQUERY_NOT_ALLOWED'),
  },
  {
    category: 'subqueries',
    name: 'IN subquery filtering the partner by identifier',
    sql:
      `SELECT count(*) FROM ${AC} AS c WHERE c.email_hash IN (SELECT p.email_hash FROM ${PI} AS p WHERE p.email_hash ` +
      `= '${HEAVY.emailHash}')`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'subqueries',
    name: 'comparison with a scalar subquery',
    sql: `SELECT count(*) FROM ${AC} WHERE country = (SELECT max(country) FROM ${AC})`,
    expect: refused('SUBQUERY_NOT_ALLOWED'),
  },

  // ── joins ───────────────────────────────────────────────────────────────────────────────
  {
    category: 'joins',
    name: 'self-join on the identifier',
    sql: `SELECT a.country, count(*) FROM ${AC} AS a JOIN ${AC} AS b ON a.email_hash = b.email_hash GROUP BY a.country`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'join on non-identifier columns',
    sql: `SELECT p.device, count(*) FROM ${AC} AS c JOIN ${PI} AS p ON c.country = p.segment GROUP BY p.device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'CROSS JOIN',
    sql: `SELECT p.device, count(*) FROM ${AC} AS c CROSS JOIN ${PI} AS p GROUP BY p.device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'comma join',
    sql: `SELECT p.device, count(*) FROM ${AC} AS c, ${PI} AS p WHERE c.country = 'DE' GROUP BY p.device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'NATURAL JOIN',
    sql: `SELECT device, count(*) FROM ${AC} NATURAL JOIN ${PI} GROUP BY device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'ASOF JOIN',
    sql:
      `SELECT p.device, count(*) FROM ${AC} AS c ASOF JOIN ${PI} AS p ` +
      `ON c.email_hash = p.email_hash AND c.signup_date >= p.impression_date GROUP BY p.device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'POSITIONAL JOIN',
    sql: `SELECT p.device, c.country, count(*) FROM ${AC} AS c POSITIONAL JOIN ${PI} AS p GROUP BY ALL`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'LATERAL join',
    sql:
      `SELECT x.device, count(*) FROM ${AC} AS c, LATERAL (SELECT p.device FROM ${PI} AS p WHERE p.email_hash ` +
      `= c.email_hash) AS x GROUP BY x.device`,
    expect: refused(),
  },
  {
    category: 'joins',
    name: 'join on an expression of the identifier',
    sql:
      `SELECT p.device, count(*) FROM ${AC} AS c JOIN ${PI} AS p ON lower(c.email_hash) = p.email_hash ` +
      `GROUP BY p.device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'join on identifier prefixes',
    sql:
      `SELECT p.device, count(*) FROM ${AC} AS c JOIN ${PI} AS p ON left(c.email_hash, 2) = left(p.email_hash, ` +
      `2) GROUP BY p.device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'join on identifier inequality',
    sql: `SELECT p.device, count(*) FROM ${AC} AS c JOIN ${PI} AS p ON c.email_hash < p.email_hash GROUP BY p.device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'join with OR',
    sql:
      `SELECT p.device, count(*) FROM ${AC} AS c JOIN ${PI} AS p ON c.email_hash = p.email_hash OR c.country ` +
      `= p.segment GROUP BY p.device`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'ANTI JOIN',
    sql:
      `SELECT c.country, count(*) FROM ${AC} AS c ANTI JOIN ${PI} AS p ON c.email_hash = p.email_hash GROUP ` +
      `BY c.country`,
    expect: refused('JOIN_NOT_ALLOWED'),
  },
  {
    category: 'joins',
    name: 'join with a metric condition',
    sql:
      `SELECT p.device, count(*) FROM ${AC} AS c JOIN ${PI} AS p ON c.email_hash = p.email_hash AND c.purchase_value ` +
      `> 1900 GROUP BY p.device`,
    expect: refused('METRIC_OUTSIDE_AGGREGATE'),
  },

  // ── quoting, case and comments ──────────────────────────────────────────────────────────
  {
    category: 'quoting-and-comments',
    name: 'quoted upper-case identifier',
    sql: `SELECT "EMAIL_HASH", count(*) FROM ${AC} GROUP BY "Email_Hash"`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'quoting-and-comments',
    name: 'mixed-case unquoted identifier',
    sql: `SELECT Email_Hash, count(*) FROM ADVERTISER_CUSTOMERS GROUP BY 1`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'quoting-and-comments',
    name: 'comments around every token',
    sql: `SELECT/*a*/email_hash/*b*/,count(*)FROM/**/${AC}/**/GROUP/**/BY/**/1`,
    expect: refused('IDENTIFIER_MISUSE'),
  },
  {
    category: 'quoting-and-comments',
    name: 'line comment hiding a column',
    sql: `SELECT country -- harmless\n, phone, count(*) FROM ${AC} GROUP BY ALL`,
    expect: refused('COLUMN_BLOCKED'),
  },
  {
    category: 'quoting-and-comments',
    name: 'comment splitting a keyword',
    sql: `SEL/**/ECT email_hash FROM ${AC}`,
    expect: refused('SQL_PARSE_ERROR'),
  },
  {
    category: 'quoting-and-comments',
    name: 'unicode escape spelling of the identifier',
    sql: `SELECT U&"\\0065mail_hash", count(*) FROM ${AC} GROUP BY 1`,
    expect: refused(),
  },
  {
    category: 'quoting-and-comments',
    name: 'homoglyph table name (Cyrillic es)',
    sql: 'SELECT count(*) FROM advertiser_\u0441ustomers',
    expect: refused('TABLE_NOT_ALLOWED'),
  },
  {
    category: 'quoting-and-comments',
    name: 'quoted blocked column',
    sql: `SELECT "Phone", count(*) FROM ${AC} GROUP BY 1`,
    expect: refused('COLUMN_BLOCKED'),
  },

  // ── clauses: LIMIT/OFFSET, sampling, PIVOT, VALUES, recursion ───────────────────────────
  {
    category: 'clauses',
    name: 'LIMIT with OFFSET',
    sql: `SELECT country, count(*) FROM ${AC} GROUP BY country ORDER BY country LIMIT 1 OFFSET 3`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'clauses',
    name: 'LIMIT by subquery',
    sql: `SELECT country, count(*) FROM ${AC} GROUP BY country LIMIT (SELECT 1)`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'clauses',
    name: 'LIMIT percentage',
    sql: `SELECT country, count(*) FROM ${AC} GROUP BY country LIMIT 10%`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'clauses',
    name: 'TABLESAMPLE',
    sql: `SELECT country, count(*) FROM ${AC} TABLESAMPLE 1 ROWS GROUP BY country`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'clauses',
    name: 'USING SAMPLE',
    sql: `SELECT count(*), sum(purchase_value) FROM ${AC} USING SAMPLE 1 ROWS`,
    expect: refused('CONSTRUCT_NOT_ALLOWED'),
  },
  {
    category: 'clauses',
    name: 'PIVOT in FROM',
    sql: `SELECT count(*) FROM (PIVOT ${AC} ON country USING sum(purchase_value))`,
    expect: refused(),
  },
  {
    category: 'clauses',
    name: 'VALUES as a table',
    sql: 'SELECT count(*) FROM (VALUES (1), (2)) AS v(x)',
    expect: refused(),
  },
  {
    category: 'clauses',
    name: 'join to VALUES holding an identifier',
    sql:
      `SELECT count(*), sum(c.purchase_value) FROM ${AC} AS c JOIN (VALUES ('${TARGET.emailHash}')) AS v(e) ` +
      `ON c.email_hash = v.e`,
    expect: refused(),
  },
  {
    category: 'clauses',
    name: 'recursive CTE',
    sql: `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT count(*) FROM r`,
    expect: refused(),
  },
  { category: 'clauses', name: 'SELECT without FROM', sql: 'SELECT 1 AS one', expect: refused('TABLE_NOT_ALLOWED') },
  {
    category: 'clauses',
    name: 'range() as a table',
    sql: 'SELECT count(*) FROM range(10)',
    expect: refused('TABLE_FUNCTION_NOT_ALLOWED'),
  },

  // ── parameters in ad hoc SQL ────────────────────────────────────────────────────────────
  {
    category: 'parameters',
    name: 'ad hoc SQL with params',
    sql: `SELECT country, count(*) FROM ${AC} WHERE country = $c GROUP BY country`,
    params: { c: "DE' OR 1=1 --" },
    expect: { rejected: { status: 400, code: 'QUERY_REQUEST_INVALID' } },
  },
  {
    category: 'parameters',
    name: 'ad hoc SQL with a positional param',
    sql: `SELECT country, count(*) FROM ${AC} WHERE country = ? GROUP BY country`,
    params: { 1: 'DE' },
    expect: { rejected: { status: 400, code: 'QUERY_REQUEST_INVALID' } },
  },
  {
    category: 'parameters',
    name: 'ad hoc SQL with an unbound parameter',
    sql: `SELECT country, count(*) FROM ${AC} WHERE country = $c GROUP BY country`,
    expect: refused(),
  },
  {
    category: 'parameters',
    name: 'injection attempt inside a string literal',
    sql: `SELECT country, count(*) FROM ${AC} WHERE country = 'DE'' OR email_hash = ''x' GROUP BY country`,
    expect: { thresholded: true, sizes: byCountry },
  },

  // ── regressions: issue #8 and what the generated attacks found (test/query/generated) ────
  {
    category: 'regressions',
    name: 'issue #8 leak 1: a view over a view drops its people from the threshold',
    sql: `WITH a AS (SELECT email_hash, purchase_value, purchases FROM ${AC}
                 WHERE age_band='35-44' AND country='DE' AND loyalty_tier='silver' AND signup_date='2023-12-11'),
      b AS (SELECT email_hash, purchase_value, purchases FROM a)
      SELECT p.device, count(DISTINCT b.email_hash) AS acme_people, sum(b.purchase_value) AS purchase_value,
             sum(b.purchases) AS purchases
      FROM ${PI} AS p LEFT JOIN b ON p.email_hash = b.email_hash GROUP BY p.device`,
    expect: {
      thresholded: true,
      reveals:
        `SELECT purchase_value FROM ${RAW_AC} WHERE age_band='35-44' AND country='DE' AND loyalty_tier='silver' ` +
        `AND signup_date='2023-12-11'`,
    },
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 1: nested FROM-subqueries drop their people the same way',
    sql:
      `SELECT p.device, sum(s.purchase_value) AS v FROM ${PI} AS p LEFT JOIN (SELECT email_hash, purchase_value ` +
      `FROM (SELECT email_hash, purchase_value FROM ${AC} WHERE ${TARGET.where}) AS i) AS s ON p.email_hash ` +
      `= s.email_hash GROUP BY p.device`,
    expect: { thresholded: true, reveals: targetValue },
  },
  {
    category: 'regressions',
    name: 'found by generated attacks: a view over a DISTINCT view read alone (empty pass guard, a 500)',
    sql:
      `SELECT count(*) AS a0, count(v4.campaign_r) AS a1 FROM (SELECT v2.campaign_r AS campaign_r FROM (SELECT ` +
      `DISTINCT t1.email_hash AS email_hash, t1.campaign AS campaign_r, t1.device AS device FROM ${PI} AS t1 ` +
      `WHERE (t1.impression_date = DATE '2025-12-14')) AS v2 WHERE v2.campaign_r NOT LIKE 's%') AS v4`,
    expect: {
      thresholded: true,
      sizes: {
        sql:
          `SELECT count(DISTINCT email_hash) FROM ${RAW_PI} WHERE impression_date = DATE '2025-12-14' AND campaign ` +
          `NOT LIKE 's%'`,
        keys: 0,
      },
    },
  },
  {
    category: 'regressions',
    name: 'found by generated attacks: a semi-join inside OR pins a handful of partner people',
    sql:
      `SELECT avg(t1.purchase_value) AS a0 FROM ${AC} AS t1 ` +
      `WHERE (t1.signup_date <= DATE '2024-04-11' OR t1.email_hash ` +
      `IN (SELECT t2.email_hash FROM ${PI} AS t2 WHERE t2.email_hash IN (SELECT t3.email_hash FROM ${AC} AS ` +
      `t3 WHERE t3.email_hash IN (SELECT t4.email_hash FROM ${PI} AS t4 WHERE (t4.impression_date = '2025-10-13' ` +
      `AND t4.segment = 'fashion' AND t4.device = 'mobile')))))`,
    // A few publisher people match: the group is suppressed (a partner's people must be 0 or at least 50).
    expect: { thresholded: true, suppressed: true },
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 2: a concatenation of dimensions compared with a number',
    sql:
      `SELECT segment, count(*) FROM ${PI} WHERE CASE WHEN impression_date = DATE '2025-10-13' AND device = ` +
      `'mobile' THEN concat('''', campaign, '|', device) = 1 ELSE FALSE END GROUP BY segment`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 2: a VARCHAR column IN a list of numbers',
    sql: `SELECT count(*) FROM ${AC} WHERE loyalty_tier IN (1, 2)`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 2: a VARCHAR column compared with TRUE',
    sql: `SELECT count(*) FROM ${AC} WHERE country = TRUE`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 2: a DATE column compared with a VARCHAR column',
    sql: `SELECT count(*) FROM ${PI} WHERE impression_date = segment`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 2: nullif of a DATE and a VARCHAR',
    sql: `SELECT count(*) FROM ${AC} WHERE nullif(signup_date, country) IS NULL`,
    expect: refused('FUNCTION_NOT_ALLOWED'),
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 2: a VARCHAR dimension IN a list holding a DATE column',
    sql: `SELECT count(*) FROM ${AC} WHERE signup_date IN (country)`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 2: the oracle pinned through a partner with a semi-join',
    sql:
      `SELECT count(*) FROM ${AC} WHERE email_hash IN (SELECT email_hash FROM ${PI} WHERE CASE WHEN impression_date ` +
      `= DATE '2025-10-13' THEN segment = 1 ELSE FALSE END)`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'issue #8 leak 2: the same oracle in DP mode on a pinned person',
    sql:
      `SELECT country, count(*) AS n FROM ${AC} WHERE CASE WHEN ${TARGET.where} THEN country = 1 ELSE FALSE ` +
      `END GROUP BY country`,
    dp: { epsilon: 0.5 },
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'found by generated attacks: a VARCHAR column as a condition (NOT age_band)',
    sql: `SELECT sum(t1.purchase_value) AS a0 FROM ${AC} AS t1 WHERE NOT t1.age_band`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'found by generated attacks: a date function of a VARCHAR column',
    sql: `SELECT count(*) FROM ${PI} WHERE strftime(campaign, '%Y') = '2024'`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'found by generated attacks: a quoted literal that is no date, behind a pinned CASE',
    sql: `SELECT count(*) FROM ${AC} WHERE CASE WHEN ${TARGET.where} THEN signup_date = 'garbage' ELSE FALSE END`,
    expect: refused('TYPE_MISMATCH'),
  },
  {
    category: 'regressions',
    name: 'found by the type grid: an integral DOUBLE constant (json_deserialize_sql refused 1000 as a double: a 500)',
    sql: `SELECT country, count(*) AS n FROM ${AC} GROUP BY country HAVING sum(purchase_value) > 1e3`,
    expect: { thresholded: true, sizes: byCountry },
  },

  // ── legitimate queries: must run, thresholded ───────────────────────────────────────────
  {
    category: 'legitimate',
    name: 'customers by country',
    sql: `SELECT country, count(*) AS customers FROM ${AC} GROUP BY country`,
    expect: { thresholded: true, sizes: byCountry },
  },
  {
    category: 'legitimate',
    name: 'age band profile with allowed aggregates',
    sql:
      `SELECT age_band, count(DISTINCT email_hash) AS people, avg(purchase_value) AS avg_value, sum(converted) ` +
      `AS conversions FROM ${AC} GROUP BY age_band ORDER BY age_band`,
    expect: {
      thresholded: true,
      sizes: { sql: `SELECT age_band, count(DISTINCT email_hash) FROM ${RAW_AC} GROUP BY age_band`, keys: 1 },
    },
  },
  {
    category: 'legitimate',
    name: 'tier by country (some groups under 50 are suppressed)',
    sql: `SELECT loyalty_tier, country, count(*) AS n FROM ${AC} GROUP BY loyalty_tier, country`,
    expect: {
      thresholded: true,
      suppressed: true,
      sizes: { sql: `SELECT loyalty_tier, country, count(DISTINCT email_hash) FROM ${RAW_AC} GROUP BY ALL`, keys: 2 },
    },
  },
  {
    category: 'legitimate',
    name: 'audience overlap by segment (allowed join)',
    sql:
      `SELECT p.segment, count(DISTINCT c.email_hash) AS overlap, count(*) AS impressions FROM ${PI} AS p JOIN ` +
      `${AC} AS c ON p.email_hash = c.email_hash GROUP BY p.segment`,
    expect: { thresholded: true, sizes: joinedBySegment },
  },
  {
    category: 'legitimate',
    name: 'conversion lift via IN semi-join',
    sql:
      `SELECT CASE WHEN c.email_hash IN (SELECT p.email_hash FROM ${PI} AS p WHERE p.campaign = 'spring_sale') ` +
      `THEN 'exposed' ELSE 'unexposed' END AS exposure, count(*) AS customers, sum(c.converted) AS conversions ` +
      `FROM ${AC} AS c GROUP BY exposure`,
    expect: {
      thresholded: true,
      sizes: {
        sql:
          `SELECT CASE WHEN email_hash IN (SELECT email_hash FROM ${RAW_PI} WHERE campaign = 'spring_sale') THEN ` +
          `'exposed' ELSE 'unexposed' END, count(DISTINCT email_hash) FROM ${RAW_AC} GROUP BY 1`,
        keys: 1,
      },
    },
  },
  {
    category: 'legitimate',
    name: 'CTE filtering gold customers',
    sql:
      `WITH v AS (SELECT email_hash, country, purchase_value FROM ${AC} WHERE loyalty_tier = 'gold') SELECT ` +
      `country, count(*) AS n, sum(purchase_value) AS value FROM v GROUP BY country`,
    expect: {
      thresholded: true,
      sizes: {
        sql: `SELECT country, count(DISTINCT email_hash) FROM ${RAW_AC} WHERE loyalty_tier = 'gold' GROUP BY country`,
        keys: 1,
      },
    },
  },
  {
    category: 'legitimate',
    name: 'FROM subquery without the unit (room injects it)',
    sql:
      `SELECT s.device, count(*) AS impressions, sum(s.clicks) AS clicks FROM (SELECT device, clicks FROM ${PI} ` +
      `WHERE campaign = 'holiday') AS s GROUP BY s.device`,
    expect: {
      thresholded: true,
      sizes: {
        sql: `SELECT device, count(DISTINCT email_hash) FROM ${RAW_PI} WHERE campaign = 'holiday' GROUP BY device`,
        keys: 1,
      },
    },
  },
  {
    category: 'legitimate',
    name: 'monthly reach (date bucketing)',
    sql:
      `SELECT date_trunc('month', impression_date) AS month, count(DISTINCT email_hash) AS reach, sum(clicks) ` +
      `AS clicks FROM ${PI} GROUP BY month`,
    expect: {
      thresholded: true,
      sizes: {
        sql: `SELECT date_trunc('month', impression_date), count(DISTINCT email_hash) FROM ${RAW_PI} GROUP BY 1`,
        keys: 1,
      },
    },
  },
  {
    category: 'legitimate',
    name: 'HAVING on a count',
    sql: `SELECT country, count(*) AS n FROM ${AC} GROUP BY country HAVING count(*) > 100`,
    expect: { thresholded: true, sizes: byCountry },
  },
  {
    category: 'legitimate',
    name: 'whole-table count',
    sql: `SELECT count(*) AS n, avg(purchases) AS avg_purchases FROM ${AC}`,
    expect: { thresholded: true, sizes: wholeAc },
  },
  {
    category: 'legitimate',
    name: 'trailing comment that looks like a second statement',
    sql: `SELECT country, count(*) AS n FROM ${AC} GROUP BY country -- ; COPY ${AC} TO '/tmp/leak.csv'`,
    expect: { thresholded: true, sizes: byCountry },
  },
  {
    category: 'legitimate',
    name: 'LIMIT applies after thresholding',
    sql: `SELECT country, count(*) AS n FROM ${AC} GROUP BY country ORDER BY n DESC LIMIT 2`,
    expect: { thresholded: true, sizes: byCountry },
  },
  {
    category: 'legitimate',
    name: 'quoted, differently cased dataset name',
    sql: `SELECT "Country", count(*) AS n FROM "Advertiser_Customers" GROUP BY "Country"`,
    expect: { thresholded: true, sizes: byCountry },
  },
  {
    category: 'legitimate',
    name: 'FROM-first syntax',
    sql: `FROM ${AC} SELECT country, count(*) AS n GROUP BY country`,
    expect: { thresholded: true, sizes: byCountry },
  },
  {
    category: 'legitimate',
    name: 'USING join',
    sql:
      `SELECT p.device, count(*) AS impressions FROM ${AC} AS c JOIN ${PI} AS p USING (email_hash) ` +
      `GROUP BY p.device`,
    expect: { thresholded: true, sizes: joinedByDevice },
  },
  {
    category: 'legitimate',
    name: 'unaliased FROM subquery',
    sql: `SELECT device, count(*) AS impressions FROM (SELECT device FROM ${PI}) GROUP BY device`,
    expect: {
      thresholded: true,
      sizes: { sql: `SELECT device, count(DISTINCT email_hash) FROM ${RAW_PI} GROUP BY device`, keys: 1 },
    },
  },
  {
    category: 'legitimate',
    name: 'CASE over dimensions',
    sql:
      `SELECT CASE WHEN country IN ('GB', 'IE') THEN 'uk_ie' ELSE 'other' END AS region, count(*) AS n FROM ` +
      `${AC} GROUP BY region`,
    expect: {
      thresholded: true,
      sizes: {
        sql:
          `SELECT CASE WHEN country IN ('GB', 'IE') THEN 'uk_ie' ELSE 'other' END, count(DISTINCT email_hash) ` +
          `FROM ${RAW_AC} GROUP BY 1`,
        keys: 1,
      },
    },
  },
  {
    category: 'legitimate',
    name: 'count of the identifier in a joined query by segment',
    sql:
      `SELECT p.segment, count(c.email_hash) AS matched_rows FROM ${PI} AS p LEFT JOIN ${AC} AS c ON p.email_hash ` +
      `= c.email_hash GROUP BY p.segment`,
    expect: {
      thresholded: true,
      sizes: { sql: `SELECT segment, count(DISTINCT email_hash) FROM ${RAW_PI} GROUP BY segment`, keys: 1 },
    },
  },
];
