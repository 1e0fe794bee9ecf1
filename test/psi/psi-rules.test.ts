import { describe, expect, it } from 'vitest';
import { refuseIf } from '../../src/errors/refused-error.ts';
import { checkPsiParameters, parsePsiRule } from '../../src/psi/psi-rules.ts';
import { expectRefusal } from './helpers.ts';

const base = {
  server: 'acme',
  client: 'globex',
  minSetSize: 100,
  maxSessionsPerDay: 3,
  sessionTtlSeconds: 600,
  normalisation: 'email',
};

describe('PSI rules', () => {
  it('fills revealIntersection with false and keeps a valid rate', () => {
    expect(parsePsiRule(base).revealIntersection).toBe(false);
    expect(parsePsiRule({ ...base, falsePositiveRate: 1e-6 }).falsePositiveRate).toBe(1e-6);
  });

  it('collects every problem of a bad rule', async () => {
    const error = await expectRefusal(
      () => parsePsiRule({ ...base, client: 'acme', minSetSize: 0, normalisation: 'phone', falsePositiveRate: 1 }),
      'PSI_RULE_INVALID',
      400,
    );
    const diagnostics = error.details['diagnostics'] as { code: string; data: { field: string } }[];
    expect(diagnostics.map((d) => d.data.field)).toEqual([
      'client',
      'minSetSize',
      'normalisation',
      'falsePositiveRate',
    ]);
    expect(new Set(diagnostics.map((d) => d.code))).toEqual(new Set(['PSI_RULE_INVALID']));
  });

  it.each([0, 1, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses false positive rate %s before psi.js sees it',
    async (fpr) => {
      await expectRefusal(
        () => refuseIf(checkPsiParameters({ minSetSize: 2, falsePositiveRate: fpr }, {})),
        'PSI_INVALID_FALSE_POSITIVE_RATE',
        422,
      );
    },
  );

  it('refuses empty, one-element and below-minimum sets, whatever the policy minimum', async () => {
    await expectRefusal(() => refuseIf(checkPsiParameters({ minSetSize: 1 }, { server: 0 })), 'PSI_SET_TOO_SMALL');
    await expectRefusal(() => refuseIf(checkPsiParameters({ minSetSize: 1 }, { client: 1 })), 'PSI_SET_TOO_SMALL');
    await expectRefusal(() => refuseIf(checkPsiParameters({ minSetSize: 100 }, { server: 99 })), 'PSI_SET_TOO_SMALL');
    await expectRefusal(
      () => refuseIf(checkPsiParameters({ minSetSize: 2, maxSetSize: 10 }, { client: 11 })),
      'PSI_SET_TOO_LARGE',
    );
    expect(
      checkPsiParameters({ minSetSize: 2, falsePositiveRate: 0 }, { server: 1, client: 1 }).map((d) => d.code),
    ).toEqual(['PSI_INVALID_FALSE_POSITIVE_RATE', 'PSI_SET_TOO_SMALL', 'PSI_SET_TOO_SMALL']);
  });
});
