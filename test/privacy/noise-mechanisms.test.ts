import { calibrateGaussian, calibrateLaplace, releaseGridSteps } from '../../src/privacy/noise-calibration.ts';
import { sampleDiscreteGaussian } from '../../src/privacy/discrete-gaussian.ts';
import { sampleDiscreteLaplace } from '../../src/privacy/discrete-laplace.ts';
import { gaussianMechanism, laplaceMechanism } from '../../src/privacy/mechanisms.ts';
import { planDpAggregates } from '../../src/privacy/dp-plan.ts';
import { releaseAggregate } from '../../src/privacy/dp-release.ts';
import { rational } from '../../src/privacy/rational.ts';
import { zcdpRhoFor } from '../../src/privacy/zcdp.ts';
import { seededRandomSource } from '../support/seeded-random-source.ts';
import { describeNoiseMechanism, varianceFromWeights } from './noise-mechanism-suite.ts';

const laplaceWeights = (scale: number) => (z: number) => Math.exp(-Math.abs(z) / scale);
const gaussianWeights = (sigma2: number) => (z: number) => Math.exp(-(z * z) / (2 * sigma2));

describeNoiseMechanism(
  'discrete Laplace, scale 3/2',
  (r) => Number(sampleDiscreteLaplace(rational(3n, 2n), r)),
  varianceFromWeights(laplaceWeights(1.5), 200),
);
describeNoiseMechanism(
  'discrete Laplace, scale 0.3',
  (r) => Number(sampleDiscreteLaplace(rational(3n, 10n), r)),
  varianceFromWeights(laplaceWeights(0.3), 100),
);
describeNoiseMechanism(
  'discrete Laplace, scale 40',
  (r) => Number(sampleDiscreteLaplace(rational(40n), r)),
  varianceFromWeights(laplaceWeights(40), 4000),
);
describeNoiseMechanism(
  'discrete Gaussian, sigma² 4',
  (r) => Number(sampleDiscreteGaussian(rational(4n), r)),
  varianceFromWeights(gaussianWeights(4), 200),
  { draws: 30_000 },
);
describeNoiseMechanism(
  'discrete Gaussian, sigma² 1/2',
  (r) => Number(sampleDiscreteGaussian(rational(1n, 2n), r)),
  varianceFromWeights(gaussianWeights(0.5), 100),
  { draws: 30_000 },
);
describeNoiseMechanism(
  'discrete Gaussian, sigma² 900',
  (r) => Number(sampleDiscreteGaussian(rational(900n), r)),
  varianceFromWeights(gaussianWeights(900), 2000),
  { draws: 20_000 },
);

describeNoiseMechanism(
  'Laplace mechanism on an integer count (Δ1 = 3, ε = 0.5)',
  (random) => laplaceMechanism({ value: 1000, l1Sensitivity: 3, epsilon: 0.5, random, domain: 'integer' }).value,
  varianceFromWeights(laplaceWeights(6), 1000),
  { exact: 1000, granularity: 1 },
);

// The snapped mechanisms are checked against the continuous variance of the scale they must have
// (2b² with b = Δ/ε, σ² = Δ²/2ρ); the grid and the discreteness change it by far less than 1%.
const realValue = 12.345678901234;
const realLaplace = laplaceMechanism({ value: 0, l1Sensitivity: 2.5, epsilon: 0.7, random: seededRandomSource(1) });
describeNoiseMechanism(
  'Laplace mechanism on a real value (snapped)',
  (random) => laplaceMechanism({ value: realValue, l1Sensitivity: 2.5, epsilon: 0.7, random }).value,
  2 * (2.5 / 0.7) ** 2,
  { exact: realValue, granularity: realLaplace.granularity, bias: realLaplace.granularity / 2, draws: 30_000 },
);

const gaussianRho = zcdpRhoFor(0.8, 1e-6);
const realGaussian = gaussianMechanism({
  value: 0,
  l2Sensitivity: 2.5,
  epsilon: 0.8,
  delta: 1e-6,
  random: seededRandomSource(1),
});
describeNoiseMechanism(
  'Gaussian mechanism on a real value (snapped)',
  (random) => gaussianMechanism({ value: realValue, l2Sensitivity: 2.5, epsilon: 0.8, delta: 1e-6, random }).value,
  2.5 ** 2 / (2 * gaussianRho),
  { exact: realValue, granularity: realGaussian.granularity, bias: realGaussian.granularity / 2, draws: 15_000 },
);

// The planner's path: a SUM of a DOUBLE metric clamped to [-5, 20], 3 groups × 2 rows per unit, ε = 1
// for the one aggregate. DuckDB would hand over the exact sum in grid steps.
const sumPlan = planDpAggregates({
  mechanism: 'laplace',
  epsilon: 1,
  delta: 0,
  contribution: { maxGroups: 3, maxRowsPerUnit: 2 },
  partitionSelection: false,
  aggregates: [{ alias: 'revenue', kind: 'sum', clamp: { lower: -5, upper: 20 } }],
  limits: { maxEpsilonPerQuery: 10 },
}).aggregates[0];
if (sumPlan?.kind !== 'sum') throw new Error('expected a sum plan');
const sumSteps = 123_456_789n;
describeNoiseMechanism(
  'planned SUM of a real metric, Laplace',
  (random) => releaseAggregate(sumPlan, sumSteps, random),
  2 * ((3 * 2 * 20) / 1) ** 2,
  { exact: Number(sumSteps) * sumPlan.input.granularity, granularity: sumPlan.input.granularity },
);

const gaussianSumSpec = calibrateGaussian({
  gridL2Squared: rational((3n * 40n ** 2n) << 40n),
  epsilon: 1,
  delta: 1e-7,
  granularity: 2 ** -20,
});
describeNoiseMechanism(
  'planned SUM of a real metric, Gaussian (grid 2^-20)',
  (random) => releaseGridSteps(gaussianSumSpec, 5n, random),
  (3 * 40 ** 2) / (2 * zcdpRhoFor(1, 1e-7)),
  { exact: 5 * 2 ** -20, granularity: 2 ** -20, draws: 20_000 },
);

const countSpec = calibrateLaplace({ gridL1: rational(4n), epsilon: 2, granularity: 1 });
describeNoiseMechanism(
  'planned COUNT, Laplace (Δ1 = 4, ε = 2)',
  (random) => releaseGridSteps(countSpec, 50n, random),
  varianceFromWeights(laplaceWeights(2), 400),
  {
    exact: 50,
    granularity: 1,
  },
);
