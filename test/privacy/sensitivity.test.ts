import { describe, expect, it } from 'vitest';
import { countDistinctUnitsSensitivity, countSensitivity, sumSensitivity } from '../../src/privacy/sensitivity.ts';

describe('sensitivity under contribution bounds', () => {
  const bounds = { maxGroups: 4, maxRowsPerUnit: 3 };

  it('COUNT: L1 = maxGroups·maxRowsPerUnit, L2 = sqrt(maxGroups)·maxRowsPerUnit', () => {
    expect(countSensitivity(bounds)).toEqual({ maxGroups: 4, perGroup: 3, l1: 12, l2: 6 });
  });

  it('SUM: per group max(|lower|, |upper|)·maxRowsPerUnit, then ×maxGroups (L1) or ×sqrt(maxGroups) (L2)', () => {
    expect(sumSensitivity(bounds, { lower: -50, upper: 10 })).toEqual({
      maxGroups: 4,
      perGroup: 150,
      l1: 600,
      l2: 300,
    });
    expect(sumSensitivity(bounds, { lower: 0, upper: 2.5 })).toEqual({ maxGroups: 4, perGroup: 7.5, l1: 30, l2: 15 });
  });

  it('COUNT DISTINCT privacy units: maxGroups (L1) and sqrt(maxGroups) (L2)', () => {
    expect(countDistinctUnitsSensitivity(bounds)).toEqual({ maxGroups: 4, perGroup: 1, l1: 4, l2: 2 });
  });
});
