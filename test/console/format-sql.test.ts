import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSql } from '../../src/console/console.js';

// The console shows an officer the SQL they approve laid out a clause per line. The layout may move
// whitespace and upper-case clause keywords; it must never add, drop, reorder or alter a token, or
// the officer would approve text other than the template's.
const tokens = (sql: string) =>
  (sql.match(/'(?:[^']|'')*'|"(?:[^"]|"")*"|[(),]|[^\s(),'"]+/g) ?? []).map((t) =>
    t.startsWith("'") || t.startsWith('"') ? t : t.toLowerCase(),
  );

const word = fc.constantFrom(
  'SELECT',
  'select',
  'FROM',
  'from',
  'WHERE',
  'GROUP',
  'BY',
  'HAVING',
  'ORDER',
  'LIMIT',
  'JOIN',
  'LEFT',
  'ON',
  'UNION',
  'ALL',
  'count(*)',
  'sum',
  'x',
  'fromage',
  'selection',
  'c.email_hash',
  '$country',
  '=',
  '<',
  '10',
  'AS',
);
const quoted = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => `'${s.replaceAll("'", "''")}'`),
  fc.constantFrom("'a FROM b'", '"GROUP BY"', "'it''s'", '"select"', "'open", '"open'),
);
const token = fc.oneof(
  { weight: 6, arbitrary: word },
  { weight: 2, arbitrary: quoted },
  fc.constantFrom('(', ')', ','),
);
const sql = fc
  .array(fc.tuple(token, fc.constantFrom(' ', '  ', '\n', '\t ', '')), { minLength: 1, maxLength: 40 })
  .map((parts) => parts.map(([t, space]) => t + (space || ' ')).join(''));

describe('formatSql (the console’s SQL layout)', () => {
  it('keeps every token, in order, for 3,000 generated statements', () => {
    fc.assert(
      fc.property(sql, (text) => {
        const out = formatSql(text);
        expect(tokens(out)).toEqual(tokens(text));
        // and no character is lost or gained outside whitespace (a tokeniser both sides share could hide that)
        const bare = (s: string) => s.replace(/\s+/g, '').toLowerCase();
        expect(bare(out)).toBe(bare(text));
      }),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('puts each clause on its own line, and keeps quoted keywords where they are', () => {
    const out = formatSql(
      "select a, count(DISTINCT b) AS n from t left join u on t.k = u.k where s = 'x FROM y' group by a having n > 1",
    );
    expect(out.split('\n')).toEqual([
      'SELECT a,',
      'count(DISTINCT b) AS n',
      'FROM t',
      'LEFT JOIN u',
      'ON t.k = u.k',
      "WHERE s = 'x FROM y'",
      'GROUP BY a',
      'HAVING n > 1',
    ]);
  });
});
