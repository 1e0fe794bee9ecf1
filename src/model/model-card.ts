import { canonicalJson, contentHash } from '../crypto/hashing.ts';
import { compileValidator } from '../validation/json-validator.ts';
import type { HoldoutMetrics } from './holdout-metrics.ts';

/** One column of the design matrix as the card states it: how it is computed from the data. */
export type EncodedFeature =
  | { readonly name: string; readonly encoding: 'intercept' }
  | {
      readonly name: string;
      readonly encoding: 'numeric';
      readonly bounds: readonly [number, number];
      /** for a joined feature: the per-person aggregate of another dataset it is */
      readonly from?: { readonly dataset: string; readonly aggregate: string; readonly column?: string };
    }
  | { readonly name: string; readonly encoding: 'one-hot'; readonly level: string };

/** What leaves: coefficients and how to use them, never a row or a per-record score. */
export interface TrainedModel {
  readonly model: 'linear' | 'logistic';
  readonly label: { readonly column: string; readonly bounds: readonly [number, number] };
  readonly features: readonly EncodedFeature[];
  readonly coefficients: readonly number[];
  /**
   * Classical standard errors (OLS: σ̂²(X'X)⁻¹; logistic: the inverse Hessian at the optimum), only
   * without DP: neither AdaSSP nor objective perturbation gives valid ones.
   */
  readonly standardErrors?: readonly number[];
  readonly dp: { readonly epsilon: number; readonly delta: number; readonly mechanism: string } | null;
  /** people trained on and held out: exact without DP, noisy with it */
  readonly people: { readonly training: number; readonly holdout: number; readonly exact: boolean };
  /** passes over the training rows, only without DP (a DP fit's step count depends on more than its minimiser) */
  readonly passes?: number;
  readonly holdout: { readonly share: number; readonly split: string };
  /** measured on the holdout at the released coefficients; noisy with DP */
  readonly metrics: HoldoutMetrics;
}

/**
 * The model card: what was trained on what, how, with which privacy, its coefficients and held-out
 * metrics. It is the whole release (recorded in the audit entry `auditSeq`), signed by the room's
 * Ed25519 key over `modelCardSigningBytes`; scoring happens on the recipient's own machine.
 */
export interface ModelCard extends TrainedModel {
  readonly kind: 'cleanroom-model-card';
  readonly v: 1;
  readonly collaboration: string;
  readonly template: string;
  readonly templateHash: string;
  readonly dataset: string;
  readonly dataVersion: number;
  /** the datasets the feature view joined, at the versions read */
  readonly joined?: readonly { readonly dataset: string; readonly dataVersion: number }[];
  readonly policyHash: string;
  readonly recipient: string;
  readonly trainedBy: string;
  readonly trainedAt: string;
  readonly auditSeq: number;
  /** the room's signature (base64) over everything else, and its signing key (base64) */
  readonly signature: { readonly signer: string; readonly value: string };
}

/** The exact bytes the room signs: a domain prefix and the card without its signature, as RFC 8785 JSON. */
export function modelCardSigningBytes(card: Omit<ModelCard, 'signature'> & { signature?: unknown }): Uint8Array {
  const { signature: _signature, ...signed } = card;
  return new TextEncoder().encode(`cleanroom-model-card-v1\n${canonicalJson(signed)}`);
}

/**
 * The digest the audit entry `model.trained` keeps of a card's content (RFC 8785 JSON, SHA-256),
 * without its `auditSeq` and signature: the audit chain is read by every member, the card only by
 * its recipient and the owners of the data, so the chain proves which card was released without
 * showing it.
 */
export function modelCardDigest(card: Omit<ModelCard, 'signature' | 'auditSeq'> & Partial<ModelCard>): string {
  const { signature: _signature, auditSeq: _auditSeq, ...content } = card;
  return contentHash(content);
}

const finite = { type: 'number' };
const bounds = { type: 'array', minItems: 2, maxItems: 2, items: finite };
const name = { type: 'string', minLength: 1, maxLength: 200 };
const count = { type: 'integer', minimum: 0 };
const base64 = { type: 'string', pattern: '^[A-Za-z0-9+/]+={0,2}$', maxLength: 200 };

/** The card's JSON Schema (`cleanroom model schema` prints it), checked on every card read from a file. */
export const MODEL_CARD_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Cleanroom model card, version 1',
  type: 'object',
  additionalProperties: false,
  required: [
    'kind',
    'v',
    'collaboration',
    'template',
    'templateHash',
    'dataset',
    'dataVersion',
    'policyHash',
    'recipient',
    'trainedBy',
    'trainedAt',
    'auditSeq',
    'model',
    'label',
    'features',
    'coefficients',
    'dp',
    'people',
    'holdout',
    'metrics',
    'signature',
  ],
  properties: {
    kind: { const: 'cleanroom-model-card' },
    v: { const: 1 },
    collaboration: name,
    template: name,
    templateHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    dataset: name,
    dataVersion: count,
    joined: {
      type: 'array',
      maxItems: 3,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['dataset', 'dataVersion'],
        properties: { dataset: name, dataVersion: count },
      },
    },
    policyHash: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    recipient: name,
    trainedBy: name,
    trainedAt: { type: 'string', format: 'date-time' },
    auditSeq: count,
    model: { enum: ['linear', 'logistic'] },
    label: {
      type: 'object',
      additionalProperties: false,
      required: ['column', 'bounds'],
      properties: { column: name, bounds },
    },
    features: {
      type: 'array',
      minItems: 1,
      maxItems: 2000,
      items: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'encoding'],
            properties: { name, encoding: { const: 'intercept' } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'encoding', 'bounds'],
            properties: {
              name,
              encoding: { const: 'numeric' },
              bounds,
              from: {
                type: 'object',
                additionalProperties: false,
                required: ['dataset', 'aggregate'],
                properties: { dataset: name, aggregate: { enum: ['count', 'sum', 'avg', 'min', 'max'] }, column: name },
              },
            },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'encoding', 'level'],
            properties: { name, encoding: { const: 'one-hot' }, level: { type: 'string', maxLength: 200 } },
          },
        ],
      },
    },
    coefficients: { type: 'array', maxItems: 2000, items: finite },
    standardErrors: { type: 'array', maxItems: 2000, items: { type: 'number', minimum: 0 } },
    dp: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['epsilon', 'delta', 'mechanism'],
          properties: {
            epsilon: { type: 'number', exclusiveMinimum: 0 },
            delta: { type: 'number', minimum: 0, maximum: 1 },
            mechanism: { type: 'string', maxLength: 500 },
          },
        },
      ],
    },
    people: {
      type: 'object',
      additionalProperties: false,
      required: ['training', 'holdout', 'exact'],
      properties: { training: count, holdout: count, exact: { type: 'boolean' } },
    },
    passes: count,
    holdout: {
      type: 'object',
      additionalProperties: false,
      required: ['share', 'split'],
      properties: { share: { type: 'number', minimum: 0, maximum: 1 }, split: { type: 'string', maxLength: 500 } },
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      required: ['people'],
      properties: {
        people: count,
        positives: count,
        r2: finite,
        rmse: { type: 'number', minimum: 0 },
        auc: { type: 'number', minimum: 0, maximum: 1 },
        logLoss: { type: 'number', minimum: 0 },
        accuracy: { type: 'number', minimum: 0, maximum: 1 },
        withheld: { type: 'object', additionalProperties: { type: 'string', maxLength: 500 } },
      },
    },
    signature: {
      type: 'object',
      additionalProperties: false,
      required: ['signer', 'value'],
      properties: { signer: base64, value: base64 },
    },
  },
} as const;

/** Checks a card read from a file (someone handed it over): its shape, and one coefficient per feature. */
export const validateModelCard = compileValidator<ModelCard>(MODEL_CARD_SCHEMA);
