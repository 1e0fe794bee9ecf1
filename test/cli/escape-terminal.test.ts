import { describe, expect, it } from 'vitest';
import { describeTemplate, printAnswer } from '../../src/cli/commands/query-commands.ts';
import { escapeTerminal, terminalJson } from '../../src/cli/escape-terminal.ts';
import { formatTable } from '../../src/cli/output.ts';
import type { QueryResponse } from '../../src/room/run-query.ts';
import type { TemplateStatus } from '../../src/room/template-registry.ts';
import { HOSTILE, RAW_CONTROL } from '../support/hostile-text.ts';

/** With a NUL too, which only a value (not an argument) can carry. */
const WITH_NUL = `${HOSTILE}\x00`;

describe('escapeTerminal', () => {
  it('shows C0, DEL, C1 and bidi controls as visible escapes, and nothing else changes', () => {
    expect(escapeTerminal(WITH_NUL)).toBe(
      'x\\x1B]0;pwned\\x07\\x1B[2J\\x0D\\x0Afake\\u202Etxt.exe\\x9B31m\\x7F\\u2066\\x00',
    );
    expect(escapeTerminal('a\tb\nc\rd', 'text')).toBe('a\tb\nc\\x0Dd');
    expect(escapeTerminal('a\tb\nc', 'line')).toBe('a\\x09b\\x0Ac');
    for (const kept of ['Zürich', 'São Paulo', '東京', 'שלום', 'مرحبا', '👩‍💻', 'a\\x1Bb', '∅ ─ ε δ ±'])
      expect(escapeTerminal(kept)).toBe(kept);
    for (const code of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x80, 0x85, 0x9f]) {
      expect(escapeTerminal(String.fromCodePoint(code))).toMatch(/^\\[xu][0-9A-F]+$/);
    }
  });

  it('is idempotent, and leaves nothing raw in either context', () => {
    for (const context of ['line', 'text'] as const) {
      const once = escapeTerminal(WITH_NUL, context);
      expect(escapeTerminal(once, context)).toBe(once);
      expect(once).not.toMatch(RAW_CONTROL);
    }
    expect(escapeTerminal(HOSTILE, 'line')).not.toContain('\n');
  });

  it('terminalJson is exactly the same JSON, with nothing raw a terminal would act on', () => {
    const value = { [HOSTILE]: [WITH_NUL, 1, null, { nested: HOSTILE }] };
    const json = terminalJson(value);
    expect(JSON.parse(json)).toEqual(value);
    expect(json).not.toMatch(RAW_CONTROL);
    expect(json).toContain('\\u202e');
  });
});

describe('CLI output of partner-controlled values', () => {
  it('formatTable escapes every cell and column name, one line per row', () => {
    const table = formatTable(
      ['country', `n${HOSTILE}`],
      [
        [HOSTILE, 120],
        ['GB', 80.5],
        [null, 3],
      ],
    );
    expect(table).not.toMatch(RAW_CONTROL);
    expect(table.split('\n')).toHaveLength(5);
    expect(table).toContain('x\\x1B]0;pwned\\x07\\x1B[2J\\x0D\\x0Afake\\u202Etxt.exe');
    expect(table.split('\n')[3]).toMatch(/^GB +80\.5$/);
  });

  it('printAnswer escapes cells, column names, DP notes and dry-run SQL', () => {
    const out: string[] = [];
    const write = (text: string) => void out.push(text);
    printAnswer(
      {
        dryRun: false,
        columns: [{ name: HOSTILE, type: 'VARCHAR' }],
        rows: [[HOSTILE]],
        auditSeq: 3,
        privacy: {
          mode: 'dp',
          mechanism: 'laplace',
          epsilonSpent: 1,
          deltaSpent: 0,
          remaining: { [HOSTILE]: { epsilon: 1, delta: 0 } },
          noise: { [HOSTILE]: { scale: 1, ci95HalfWidth: null, note: HOSTILE } },
        },
      } as unknown as QueryResponse,
      write,
    );
    printAnswer(
      {
        dryRun: true,
        rewrittenSql: `SELECT '${HOSTILE}'`,
        report: { datasets: [HOSTILE] },
      } as unknown as QueryResponse,
      write,
    );
    const text = out.join('');
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).toContain('\\x1B]0;pwned\\x07');
  });

  it("template show escapes every field, keeping only the SQL's own newlines", () => {
    const template = {
      name: 'by_country',
      hash: 'ab'.repeat(32),
      proposedBy: `acme-analyst${HOSTILE}`,
      requiredMembers: ['acme'],
      runnable: false,
      rewrittenSql: `SELECT 1 -- ${HOSTILE}`,
      reviews: [{ member: 'acme', principal: 'acme-officer', decision: 'reject', reason: HOSTILE, reviewedAt: 'now' }],
      document: {
        name: 'by_country',
        collaboration: 'demo',
        description: HOSTILE,
        sql: `SELECT country\nFROM t -- ${HOSTILE}`,
        parameters: { p: { type: 'enum', values: [HOSTILE] } },
      },
      report: {
        datasets: ['advertiser_customers'],
        columns: [],
        outputs: [],
        parameters: [],
        threshold: { minGroupSize: 50, privacyUnits: [], maxResultRows: 10, rule: HOSTILE },
      },
    } as unknown as TemplateStatus;
    const text = describeTemplate(template, 'demo');
    expect(text).not.toMatch(RAW_CONTROL);
    expect(text).toContain(`description:  ${escapeTerminal(HOSTILE)}\n`);
    expect(text).toContain('SQL:\nSELECT country\nFROM t -- x\\x1B]0;pwned');
    expect(text.split('\n')[1]).toBe(`hash     ${'ab'.repeat(32)}`);
  });
});
