// The public face of src/privacy; other stages import from here, not from the files behind it.
export type { RandomSource } from './random-source.ts';
export { cryptoRandomSource } from './random-source.ts';
export type { Rational } from './rational.ts';
export { rationalText, rationalFromNumber } from './rational.ts';
export { sampleDiscreteLaplace, discreteLaplaceVariance, discreteLaplaceQuantile } from './discrete-laplace.ts';
export { sampleDiscreteGaussian, discreteGaussianVariance } from './discrete-gaussian.ts';
export { zcdpDelta, zcdpRhoFor } from './zcdp.ts';
export { GRID_BITS, chooseGranularity } from './granularity.ts';
export type { NoiseSpec, GridNoise } from './noise-calibration.ts';
export { calibrateLaplace, calibrateGaussian } from './noise-calibration.ts';
export type { ValueDomain, LaplaceOutput, GaussianOutput } from './mechanisms.ts';
export { laplaceMechanism, gaussianMechanism } from './mechanisms.ts';
export type { GaussianVectorOutput } from './vector-gaussian.ts';
export { gaussianVectorMechanism } from './vector-gaussian.ts';
export type { ObjectivePerturbationPlan } from './objective-perturbation.ts';
export { LOGISTIC_CURVATURE, planObjectivePerturbation, sampleObjectiveNoise } from './objective-perturbation.ts';
export type { ContributionBounds, ClampBounds, Sensitivity } from './sensitivity.ts';
export { countSensitivity, sumSensitivity, countDistinctUnitsSensitivity } from './sensitivity.ts';
export type { DpLimits } from './dp-parameters.ts';
export { privacyParameterProblems, validatePrivacyParameters } from './dp-parameters.ts';
export type { PrivacyCost, BudgetCheck } from './budget.ts';
export { checkBudget } from './budget.ts';
export type { PartitionSelectionPlan, GroupUnits, PartitionSelection } from './partition-selection.ts';
export { planPartitionSelection, selectPartitions, releaseProbability } from './partition-selection.ts';
export type {
  DpAggregateKind,
  DpAggregateRequest,
  DpQueryRequest,
  GridSumInput,
  DpAggregatePlan,
  DpPlan,
} from './dp-plan.ts';
export { planDpAggregates, dpRequestProblems } from './dp-plan.ts';
export type { ExactAggregate, ExactGroup, ReleasedGroup, DpRelease } from './dp-release.ts';
export { releaseAggregate, releaseDpGroups } from './dp-release.ts';
export type { ExpectedError } from './error-estimates.ts';
export { expectedAbsoluteError } from './error-estimates.ts';
