import { describe, expect, it } from 'vitest';
import { bindParameters, validateTemplateDocument, type TemplateDocument } from '../../src/query/template.ts';

// Issue #12 hostile review: a proposer's `pattern` on a string parameter ran on the room's event loop
// for every value bound (^(a+)+$ against 30 a's and a '!' froze the room for 4.7 s), and enum values
// had no length cap. Both are refused when the template is proposed, before any officer sees it.
const template = (parameters: Record<string, unknown>): unknown => ({
  name: 'reach_by_country',
  collaboration: 'demo',
  description: 'People per country.',
  sql: 'SELECT country, count(DISTINCT email_hash) AS people FROM advertiser_customers GROUP BY country',
  parameters,
});
const pointers = (result: ReturnType<typeof validateTemplateDocument>): string[] =>
  result.ok ? [] : result.diagnostics.map((d) => String((d.data as { pointer?: string }).pointer));

describe('template parameter declarations', () => {
  it('refuse a regular expression on a string parameter, naming where it is', () => {
    const result = validateTemplateDocument(template({ country: { type: 'string', pattern: '^(a+)+$' } }));
    expect(result.ok).toBe(false);
    expect(pointers(result).some((p) => p.startsWith('/parameters/country'))).toBe(true);
    // Without it the same declaration is fine, and binding a hostile value is a length check only.
    const plain = validateTemplateDocument(template({ country: { type: 'string', maxLength: 40 } }));
    expect(plain.ok).toBe(true);
    const started = performance.now();
    expect(() =>
      bindParameters(plain.ok ? plain.value : ({} as TemplateDocument), { country: `${'a'.repeat(39)}!` }),
    ).not.toThrow();
    expect(performance.now() - started).toBeLessThan(50);
  });

  it('refuse an integer value past 2^53, whose digits JSON already lost, in any template', () => {
    const doc = validateTemplateDocument(
      template({ y: { type: 'integer' }, ys: { type: 'list', items: { type: 'integer' } } }),
    );
    if (!doc.ok) throw new Error('the declaration should be valid');
    const bind =
      (y: number, ys: number[] = [1]) =>
      () =>
        bindParameters(doc.value, { y, ys });
    expect(bind(Number.MAX_SAFE_INTEGER)).not.toThrow();
    expect(bind(-Number.MAX_SAFE_INTEGER)).not.toThrow();
    for (const refused of [bind(2 ** 53), bind(-(2 ** 63)), bind(1e19), bind(1, [1, 2 ** 60])])
      expect(refused).toThrow(expect.objectContaining({ code: 'TEMPLATE_PARAMETERS_INVALID' }));
  });

  it('cap enum values at 200 characters', () => {
    expect(validateTemplateDocument(template({ tier: { type: 'enum', values: ['x'.repeat(200)] } })).ok).toBe(true);
    const long = validateTemplateDocument(template({ tier: { type: 'enum', values: ['gold', 'x'.repeat(201)] } }));
    expect(long.ok).toBe(false);
    expect(pointers(long).some((p) => p.startsWith('/parameters/tier'))).toBe(true);
  });
});
