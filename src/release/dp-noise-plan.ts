import type { Collaboration } from '../policy/collaboration.ts';
import { refuseIf } from '../errors/refused-error.ts';
import { dpRequestProblems, planDpAggregates, type DpPlan, type DpQueryRequest } from '../privacy/index.ts';
import type { DpShape } from '../query/dp-shape.ts';

export interface DpRequest {
  readonly epsilon: number;
  readonly delta?: number;
}

/** The stricter of the owners' DP settings for the datasets a query reads. */
function settingsFor(collaboration: Collaboration, datasets: readonly string[], request: DpRequest) {
  const rules = datasets.map((d) => collaboration.datasets.get(d)?.rules.dp).filter((r) => r !== undefined);
  const maxDelta = Math.min(...rules.map((r) => r.partitionSelectionDelta ?? 1e-6));
  return {
    mechanism: rules.every((r) => r.mechanism === 'gaussian') ? ('gaussian' as const) : ('laplace' as const),
    maxGroups: Math.min(...rules.map((r) => r.maxGroupsPerUnit)),
    maxRowsPerUnit: Math.min(...rules.map((r) => r.maxRowsPerUnit)),
    maxEpsilonPerQuery: Math.min(...rules.map((r) => r.maxEpsilonPerQuery ?? 1)),
    // An analyst may ask for less δ than the owners allow for partition selection, never more.
    maxDelta,
    delta: request.delta ?? maxDelta,
  };
}

/** Plans the noise from public parameters only (the policy and the stated ε, δ), before any data is read. */
export function planDpNoise(collaboration: Collaboration, shape: DpShape, request: DpRequest): DpPlan {
  const settings = settingsFor(collaboration, shape.datasets, request);
  const global = shape.groupCount === 0;
  const dpRequest: DpQueryRequest = {
    mechanism: settings.mechanism,
    epsilon: request.epsilon,
    delta: settings.delta,
    contribution: { maxGroups: global ? 1 : settings.maxGroups, maxRowsPerUnit: settings.maxRowsPerUnit },
    partitionSelection: !global,
    aggregates: shape.aggregates.map((a) => ({
      alias: a.alias,
      kind: a.kind,
      ...(a.metric
        ? {
            clamp: { lower: a.metric.clamp[0], upper: a.metric.clamp[1] },
            metricType: a.metric.integer ? ('integer' as const) : ('real' as const),
          }
        : {}),
    })),
    limits: {
      maxEpsilonPerQuery: settings.maxEpsilonPerQuery,
      maxDeltaPerQuery: settings.maxDelta,
      rule: shape.datasets.map((d) => `datasets.${d}.rules.dp`).join(' and '),
    },
  };
  refuseIf(dpRequestProblems(dpRequest));
  return planDpAggregates(dpRequest);
}
