import { readFile } from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCollaboration } from '../../src/policy/load-policies.ts';
import type { Collaboration } from '../../src/policy/collaboration.ts';
import { planQuery } from '../../src/query/query-plan.ts';
import { treeToJson, type SerializedSql } from '../../src/query/sql-tree.ts';
import { openPlanner } from './support-planner.ts';

/**
 * The type rules against DuckDB itself: every pair of operands (columns of every declared type,
 * literals, function results) in every form that makes values meet, over rows holding extreme
 * values. Whatever the checker accepts must run without any error on every row; a conversion error
 * there would be an oracle on the row that raised it.
 */
const COLUMNS = [
  ['v', 'VARCHAR'],
  ['b', 'BOOLEAN'],
  ['i', 'INTEGER'],
  ['l', 'BIGINT'],
  ['d', 'DOUBLE'],
  ['dt', 'DATE'],
  ['ts', 'TIMESTAMP'],
] as const;

// Rows chosen so every implicit conversion that can fail does fail on one of them. DATEs stay
// within years 1-9999 and DOUBLEs within ±1e100, as uploads enforce (test/http/upload.test.ts).
const ROWS = `
  ('u1', 'abc', true, -2147483648, -9223372036854775807, -1e100, DATE '0001-01-01', TIMESTAMP '0001-01-01 00:00:00'),
  ('u2', '12', false, 2147483647, 9223372036854775807, 1e100, DATE '9999-12-31', TIMESTAMP '2024-01-01 10:00:00'),
  ('u3', '2024-01-01', NULL, 0, 0, 1.5, DATE '2024-01-01', NULL),
  ('u4', '''quoted|41', true, 7, 170141183460469231, 'NaN'::DOUBLE, DATE '2024-02-29',
   TIMESTAMP '294000-01-01 00:00:00'),
  ('u5', 'true', false, NULL, NULL, NULL, NULL, TIMESTAMP '1970-01-01 00:00:00'),
  ('u6', '', true, 1, 1, 0, DATE '1970-01-01', TIMESTAMP '2024-01-01 00:00:00')`;

const OPERANDS = [
  ...COLUMNS.map(([name]) => name),
  "'abc'",
  "'2024-01-01'",
  "'12'",
  "'true'",
  "'2024-02-31'",
  '1',
  '-1',
  '3000000000',
  '1.5',
  '1.00000000000000000001',
  '1e3',
  'TRUE',
  'NULL',
  "DATE '2024-01-01'",
  "TIMESTAMP '2024-01-01 10:00:00'",
  'lower(v)',
  'length(v)',
  'year(dt)',
  "date_trunc('month', dt)",
  "date_trunc('month', ts)",
  "strftime(dt, '%Y')",
  'round(d, 1)',
  'sign(i)',
  'concat(v, i)',
  'v || dt',
  'CAST(v AS INTEGER)',
  'CAST(i AS VARCHAR)',
  'CAST(v AS DATE)',
];

const FORMS: readonly ((x: string, y: string) => string)[] = [
  (x, y) => `${x} = ${y}`,
  (x, y) => `${x} IN (${y}, ${y})`,
  (x, y) => `${x} BETWEEN ${y} AND ${y}`,
  (x, y) => `coalesce(${x}, ${y}) IS NULL`,
  (x, y) => `nullif(${x}, ${y}) IS NULL`,
  (x, y) => `(CASE WHEN u = 'u2' THEN ${x} ELSE ${y} END) IS NULL`,
  (x, y) => `CASE WHEN u = 'u4' THEN ${x} = ${y} ELSE FALSE END`,
];

const UNARY: readonly ((x: string) => string)[] = [
  (x) => `${x}`,
  (x) => `NOT ${x}`,
  (x) => `(${x} AND TRUE)`,
  (x) => `${x} IS NULL`,
  (x) => `lower(${x}) = 'a'`,
  (x) => `length(${x}) > 1`,
  (x) => `year(${x}) = 2024`,
  (x) => `date_trunc('day', ${x}) IS NULL`,
  (x) => `strftime(${x}, '%Y') = '2024'`,
  (x) => `round(${x}) = 1`,
  (x) => `sign(${x}) = 1`,
  (x) => `starts_with(${x}, 'a')`,
  (x) => `${x} LIKE 'a%'`,
  (x) => `list_contains([1, 2], ${x})`,
  (x) => `(${x} || 'x') = 'x'`,
];

let collaboration: Collaboration;
let planner: Awaited<ReturnType<typeof openPlanner>>;
let db: DuckDBInstance;
let connection: DuckDBConnection;

beforeAll(async () => {
  const policy = JSON.parse(await readFile('policies/demo.json', 'utf8')) as { id: string; datasets: unknown[] };
  policy.id = 'typed';
  policy.datasets = [
    {
      name: 't',
      owner: 'acme',
      region: 'eu-west',
      retentionDays: 30,
      format: 'csv',
      columns: [
        { name: 'u', type: 'VARCHAR', class: 'identifier' },
        ...COLUMNS.map(([name, type]) => ({ name, type, class: 'dimension' })),
      ],
      rules: {
        privacyUnit: 'u',
        minGroupSize: 2,
        aggregates: ['count', 'count_distinct', 'sum', 'avg', 'min', 'max', 'median'],
        adHocQueries: true,
        joins: [],
        resultReceivers: ['acme'],
        maxResultRows: 100,
      },
    },
  ];
  delete (policy as { psi?: unknown }).psi;
  collaboration = parseCollaboration(policy);
  planner = await openPlanner();
  db = await DuckDBInstance.create(':memory:');
  connection = await db.connect();
  await connection.run('CREATE SCHEMA typed');
  await connection.run(
    `CREATE TABLE typed.t AS SELECT * FROM (VALUES ${ROWS}) AS v(u, ${COLUMNS.map(([n]) => n).join(', ')})`,
  );
  for (const [name, type] of COLUMNS) await connection.run(`ALTER TABLE typed.t ALTER ${name} TYPE ${type}`);
});
afterAll(async () => {
  connection?.closeSync();
  db?.closeSync();
  await planner?.close();
});

async function verdict(where: string): Promise<'refused' | 'ran' | string> {
  const sql = `SELECT v, count(*) AS n FROM t WHERE ${where} GROUP BY v`;
  const serialized = JSON.parse(await planner.engine.serialize(sql)) as SerializedSql & {
    statements?: { node: unknown }[];
  };
  const plan = planQuery(collaboration, sql, serialized, { adHoc: true });
  if (!plan.ok) return 'refused';
  const rendered = await planner.engine.deserialize(
    treeToJson({ ...serialized, statements: [{ ...serialized.statements?.[0], node: plan.tree }] }),
  );
  try {
    await connection.runAndReadAll(rendered);
    return 'ran';
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? '';
    // A binder error is raised before any row is read: it cannot depend on data.
    return /^Binder Error/.test(message) ? 'refused' : `${message}\n    checked SQL: ${sql}\n    ran: ${rendered}`;
  }
}

describe('type rules against DuckDB', () => {
  it('whatever the checker accepts runs without a conversion error on rows of extreme values', async () => {
    const failures: string[] = [];
    let ran = 0;
    let refused = 0;
    const expressions = [
      ...FORMS.flatMap((form) => OPERANDS.flatMap((x) => OPERANDS.map((y) => form(x, y)))),
      ...UNARY.flatMap((form) => OPERANDS.map((x) => form(x))),
    ];
    for (const expression of expressions) {
      const result = await verdict(expression);
      if (result === 'ran') ran += 1;
      else if (result === 'refused') refused += 1;
      else failures.push(`${expression}: ${result}`);
    }
    console.log(`type grid: ${expressions.length} expressions, ${ran} ran, ${refused} refused`);
    expect(failures.slice(0, 20)).toEqual([]);
    // Both outcomes must be common, or the grid proves nothing.
    expect(ran).toBeGreaterThan(expressions.length / 5);
    expect(refused).toBeGreaterThan(expressions.length / 5);
  }, 600_000);
});
