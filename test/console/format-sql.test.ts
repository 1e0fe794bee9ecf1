import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatSql, visible } from '../../src/console/console.js';

// The console shows an officer the SQL they approve laid out a clause per line. The layout may move
// whitespace and upper-case clause keywords; it must never add, drop, reorder or alter a token, or
// the officer would approve text other than the template's.
/**
 * An independent scanner (not formatSql's regex) with SQL's comment rules: `--` runs to the end of
 * its line, block comments to their close; quoted text is one token, an unclosed quote one
 * character. Words and keywords compare without case; comments and quoted text exactly.
 */
function tokens(sql: string): string[] {
  const out: string[] = [];
  let i = 0;
  const wordChar = (k: number) =>
    k < sql.length && !/[\s(),'"]/.test(sql[k]!) && !sql.startsWith('--', k) && !sql.startsWith('/*', k);
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) i += 1;
    else if (sql.startsWith('--', i)) {
      const end = sql.indexOf('\n', i);
      out.push(sql.slice(i, end < 0 ? sql.length : end).trimEnd());
      i = end < 0 ? sql.length : end;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      out.push(sql.slice(i, end < 0 ? sql.length : end + 2));
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      for (; j < sql.length; j += 1)
        if (sql[j] === c && sql[j + 1] !== c) break;
        else if (sql[j] === c) j += 1;
      if (j >= sql.length) {
        out.push(c);
        i += 1;
      } else {
        out.push(sql.slice(i, j + 1));
        i = j + 1;
      }
    } else if ('(),'.includes(c)) {
      out.push(c);
      i += 1;
    } else {
      let j = i;
      while (wordChar(j)) j += 1;
      out.push(sql.slice(i, j).toLowerCase());
      i = j;
    }
  }
  return out;
}

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
const comment = fc.oneof(
  fc.constantFrom('-- only GB\n', '-- WHERE x = 1\n', '/* FROM t */', '/* multi\nline */', 'a--b\n', 'x/*y*/z', '--'),
  fc.string({ maxLength: 10 }).map((s) => `-- ${s.replaceAll('\n', ' ')}\n`),
);
const token = fc.oneof(
  { weight: 6, arbitrary: word },
  { weight: 2, arbitrary: quoted },
  { weight: 1, arbitrary: comment },
  { weight: 1, arbitrary: fc.constantFrom('(', ')', ',') },
);
const sql = fc
  .array(fc.tuple(token, fc.constantFrom(' ', '  ', '\n', '\t ', '')), { minLength: 1, maxLength: 40 })
  .map((parts) => parts.map(([t, space]) => t + (space || ' ')).join(''));

describe('formatSql (the console’s SQL layout)', () => {
  it('keeps every token, in order, and never joins code onto a line comment (3,000 generated statements)', () => {
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

  it('ends the line after a line comment: code after it stays code, a commented clause stays a comment', () => {
    expect(formatSql('SELECT a FROM t WHERE c = $x -- only the requested country\nOR c <> $x').split('\n')).toEqual([
      'SELECT a',
      'FROM t',
      'WHERE c = $x -- only the requested country',
      'OR c <> $x',
    ]);
    expect(formatSql("SELECT a FROM t -- WHERE c = 'GB'\nGROUP BY a").split('\n')).toEqual([
      'SELECT a',
      "FROM t -- WHERE c = 'GB'",
      'GROUP BY a',
    ]);
  });

  it('shows invisible and direction-changing characters as escapes', () => {
    expect(visible("WHERE c <> '\u202EBG\u202C'")).toBe("WHERE c <> '\\u{202E}BG\\u{202C}'");
    expect(visible('tab\tand\nnewline stay; \u200B and \u0007 do not')).toBe(
      'tab\tand\nnewline stay; \\u{200B} and \\u{0007} do not',
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
