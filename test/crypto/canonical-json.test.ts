import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash, firstIllFormedString } from '../../src/crypto/hashing.ts';
import { templateHash, type TemplateDocument } from '../../src/query/template.ts';

// Issue #13: every hash an officer signs is over RFC 8785 canonical JSON, which other languages
// reproduce with any JCS library. The vectors below are the RFC's own (sections 3.2.2 and 3.2.3).
describe('canonical JSON (RFC 8785)', () => {
  it("reproduces the RFC's examples: numbers, string escapes, literals, and key order by UTF-16 code units", () => {
    const example = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    ) as unknown;
    expect(canonicalJson(example)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
    const sorting = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    // (Read as text: JavaScript would list the integer-like key "1" first if parsed back.)
    const order = ['\r', '1', '\u0080', '\u00f6', '\u20ac', '\ud83d\ude00', '\ufb33'] as const;
    expect(canonicalJson(sorting)).toBe(
      `{${order.map((k) => `${JSON.stringify(k)}:${JSON.stringify(sorting[k])}`).join(',')}}`,
    );
  });

  it('hashes every JSON document as the scheme before it did, so no signed hash changed', () => {
    // The room's own canonical form before RFC 8785 was adopted (sorted keys, JSON.stringify leaves).
    const before = (value: unknown): string => {
      if (value === null || typeof value !== 'object') return JSON.stringify(value);
      if (Array.isArray(value)) return `[${value.map(before).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${before(v)}`).join(',')}}`;
    };
    fc.assert(
      fc.property(fc.jsonValue({ noUnicodeString: false }), (value) => {
        expect(canonicalJson(value)).toBe(before(value));
      }),
      { numRuns: 2_000, seed: 8785 },
    );
  });

  it('publishes a test vector: the README names this template hash', () => {
    const document: TemplateDocument = {
      name: 'reach_by_country',
      collaboration: 'demo',
      description: 'People per country, €-safe and 😀-safe.',
      sql: 'SELECT country, count(DISTINCT email_hash) AS people FROM advertiser_customers GROUP BY country',
      parameters: { country: { type: 'string', maxLength: 2 } },
    };
    expect(canonicalJson(document)).toBe(
      '{"collaboration":"demo","description":"People per country, €-safe and 😀-safe.","name":"reach_by_country",' +
        '"parameters":{"country":{"maxLength":2,"type":"string"}},"sql":"SELECT country, count(DISTINCT email_hash) ' +
        'AS people FROM advertiser_customers GROUP BY country"}',
    );
    // Python: sha256(json.dumps(d, sort_keys=True, separators=(',', ':'), ensure_ascii=False)) agrees.
    expect(templateHash(document)).toBe('4457bdd11e83d99c2661ef215b2c04578ab43bd4c9696c859fc0f8ed3f3f7b33');
    expect(templateHash(document)).toBe(contentHash(document));
  });

  it('finds text no canonical form can hold (lone surrogates), by JSON pointer', () => {
    expect(firstIllFormedString({ a: ['ok', { 'b/c': 'x\ud800' }] })).toBe('/a/1/b~1c');
    expect(firstIllFormedString({ ['\udc00']: 1 })).toBe('/\udc00');
    expect(firstIllFormedString({ a: '😀', b: [1, null, true] })).toBeUndefined();
    expect(() => canonicalJson({ a: 'x\ud800' })).toThrow();
  });
});
