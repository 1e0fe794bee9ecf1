import { describe, expect, it } from 'vitest';
import { RefusedError } from '../../src/errors/refused-error.ts';
import { privacyParameterProblems, validatePrivacyParameters } from '../../src/privacy/dp-parameters.ts';
import { gaussianMechanism, laplaceMechanism } from '../../src/privacy/mechanisms.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';

const codes = (input: Parameters<typeof privacyParameterProblems>[0]): string[] =>
  privacyParameterProblems(input).map((p) => p.code);
const limits = { maxEpsilonPerQuery: 2, maxDeltaPerQuery: 1e-5 };

describe('epsilon and delta validation', () => {
  it('accepts sane parameters', () => {
    expect(codes({ epsilon: 1, delta: 1e-6, limits })).toEqual([]);
    expect(codes({ epsilon: 2, delta: 0, limits })).toEqual([]);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('rejects epsilon %s', (epsilon) => {
    expect(codes({ epsilon, delta: 0, limits })).toEqual(['DP_INVALID_EPSILON']);
  });

  it('rejects epsilon above the per-query maximum', () => {
    expect(codes({ epsilon: 2.5, delta: 0, limits })).toEqual(['DP_EPSILON_TOO_LARGE']);
  });

  it.each([-1e-9, 1, 1.5, Number.NaN])('rejects delta %s', (delta) => {
    expect(codes({ epsilon: 1, delta, limits })).toEqual(['DP_INVALID_DELTA']);
  });

  it('rejects delta above the per-query maximum', () => {
    expect(codes({ epsilon: 1, delta: 1e-3, limits })).toEqual(['DP_DELTA_TOO_LARGE']);
  });

  it('requires delta > 0 where Gaussian noise or partition selection needs it', () => {
    expect(codes({ epsilon: 1, delta: 0, deltaRequiredBy: ['the Gaussian mechanism'] })).toEqual(['DP_DELTA_REQUIRED']);
  });

  it('collects every problem and throws one refusal naming the first', () => {
    try {
      validatePrivacyParameters({ epsilon: -1, delta: 2, limits });
      throw new Error('expected a refusal');
    } catch (error) {
      expect(error).toBeInstanceOf(RefusedError);
      const invalid = error as RefusedError;
      expect(invalid.code).toBe('DP_INVALID_EPSILON');
      expect(invalid.status).toBe(400);
      expect(invalid.details['epsilon']).toBe(-1);
      expect(invalid.diagnostics.map((p) => p.code)).toEqual(['DP_INVALID_EPSILON', 'DP_INVALID_DELTA']);
      expect((invalid.details['diagnostics'] as { data: unknown }[])[1]?.data).toEqual({ delta: 2 });
    }
  });

  it('guards the mechanisms themselves', () => {
    const random = seededRandomSource(1);
    expect(() => laplaceMechanism({ value: 1, l1Sensitivity: 1, epsilon: 0, random })).toThrow(RefusedError);
    expect(() => laplaceMechanism({ value: 1, l1Sensitivity: -1, epsilon: 1, random })).toThrow(/l1Sensitivity/);
    expect(() => gaussianMechanism({ value: 1, l2Sensitivity: 1, epsilon: 1, delta: 0, random })).toThrow(
      /delta must be greater than 0/,
    );
    expect(() => laplaceMechanism({ value: 1.5, l1Sensitivity: 1, epsilon: 1, random, domain: 'integer' })).toThrow(
      /integer/,
    );
  });
});
