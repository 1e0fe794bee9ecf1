import { describe, expect, it } from 'vitest';
import { describeRefusalDetails } from '../../src/cli/describe-refusal.ts';

describe('describeRefusalDetails: a refusal for a terminal', () => {
  it('prints one line per diagnostic with where, code, sentence and rule, then the other details', () => {
    const text = describeRefusalDetails({
      diagnostics: [
        {
          code: 'COLUMN_BLOCKED',
          message: 'phone is blocked',
          rule: 'datasets.a.columns.phone.class = blocked',
          position: { line: 2, column: 8 },
          data: {},
        },
        {
          code: 'INVALID_VALUE',
          message: 'is required but missing',
          rule: 'schema #/required',
          data: { pointer: '/sql' },
        },
      ],
      file: 'x.sql',
    });
    expect(text.split('\n')).toEqual([
      '  line 2:8 COLUMN_BLOCKED: phone is blocked [rule: datasets.a.columns.phone.class = blocked]',
      '  /sql INVALID_VALUE: is required but missing [rule: schema #/required]',
      '{',
      '  "file": "x.sql"',
      '}',
      '',
    ]);
  });

  it('escapes control characters another member may have put in a name', () => {
    const text = describeRefusalDetails({
      diagnostics: [{ code: 'COLUMN_UNKNOWN', message: 'no column \u001b[2Jx', rule: 'r' }],
    });
    expect(text).not.toContain('\u001b');
    expect(text).toContain('COLUMN_UNKNOWN');
  });
});
