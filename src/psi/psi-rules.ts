import { diagnostic, type Diagnostic } from '../errors/diagnostic.ts';
import { RefusedError, refusalOf } from '../errors/refused-error.ts';
import { IDENTIFIER_NORMALISATIONS } from './identifier-normalisation.ts';
import type { IdentifierNormalisation } from './identifier-normalisation.ts';

/** A collaboration's PSI rule: who serves, who asks, and what the asker may learn. */
export interface PsiRule {
  /** Member id of the party holding set S (posts setup and response). */
  readonly server: string;
  /** Member id of the party holding set C (posts the request, learns the result). */
  readonly client: string;
  readonly revealIntersection: boolean;
  readonly minSetSize: number;
  readonly maxSessionsPerDay: number;
  readonly sessionTtlSeconds: number;
  readonly normalisation: IdentifierNormalisation;
  readonly falsePositiveRate?: number;
  /**
   * Size-only rules: whether a session may have the client compute the exact size itself (psi.js).
   * Without it every size-only session is room-counted: both sides' doubly-blinded sets go to the
   * room, which counts them and releases the count with discrete Laplace noise (PROTOCOL.md).
   */
  readonly exactCount: boolean;
  /** ε charged per room-counted session (the count's sensitivity is 1). */
  readonly epsilon: number;
  /** Total ε the member pair may spend on room-counted sessions in this collaboration, ever. */
  readonly epsilonBudget: number;
  /** Members who may read a room-counted result. */
  readonly releaseTo: readonly string[];
}

/** Which engine and protocol a session uses. */
export type PsiEngine = 'psi.js' | 'native';

/** Who counts a size-only session's intersection: the room (with noise) or the client (exactly). */
export type PsiCount = 'room' | 'client';

/** Revealing and client-counted sessions run psi.js; room-counted ones run the native engine. */
export const engineOf = (rule: Pick<PsiRule, 'revealIntersection'>, count: PsiCount): PsiEngine =>
  !rule.revealIntersection && count === 'room' ? 'native' : 'psi.js';

/** Refuses a count the rule does not allow: the exact, client-side count needs `exactCount`. */
export function requireCountAllowed(rule: PsiRule, count: PsiCount): void {
  if (count === 'client' && !rule.revealIntersection && !rule.exactCount) {
    const message = 'This PSI rule releases only the room’s noisy count; the exact count is not allowed.';
    throw refusalOf(diagnostic('PSI_EXACT_COUNT_NOT_ALLOWED', message, 'psi.exactCount', { count }));
  }
}

export const DEFAULT_PSI_EPSILON = 0.5;
export const DEFAULT_PSI_EPSILON_BUDGET = 5;

export const DEFAULT_FALSE_POSITIVE_RATE = 1e-9;
/** Whatever the policy says, a one-element set is a membership test, never a PSI. */
export const MIN_SET_SIZE_FLOOR = 2;
/** psi.js sessions: beyond this the room would hold ~70 MB per message; raise deliberately, not by policy typo. */
export const MAX_SET_SIZE = 2_000_000;
/**
 * Native (room-counted) sessions: 32 bytes per element, so a message is at most 512 MB
 * (bench/results/psi-10m-cli.txt measures 10M × 10M through the CLI).
 */
export const NATIVE_MAX_SET_SIZE = 16_000_000;

/** The largest set an engine's session admits. */
export const maxSetSizeOf = (engine: PsiEngine): number => (engine === 'native' ? NATIVE_MAX_SET_SIZE : MAX_SET_SIZE);

const isPositiveFinite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n > 0;
const isPositiveInteger = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 1;

/** Fills defaults and checks a rule as it comes from a policy document; refuses PSI_RULE_INVALID with every problem. */
export function parsePsiRule(input: Readonly<Record<string, unknown>>): PsiRule {
  const problems: Diagnostic[] = [];
  const problem = (field: string, message: string) =>
    problems.push(diagnostic('PSI_RULE_INVALID', message, `psi.${field}`, { field }));
  const {
    server,
    client,
    revealIntersection = false,
    minSetSize,
    maxSessionsPerDay,
    sessionTtlSeconds,
    normalisation,
  } = input;
  const falsePositiveRate = input['falsePositiveRate'];
  const { epsilon = DEFAULT_PSI_EPSILON, epsilonBudget = DEFAULT_PSI_EPSILON_BUDGET } = input;
  const exactCount = input['exactCount'] ?? false;
  const releaseTo = input['releaseTo'] ?? [client];
  if (typeof server !== 'string' || server === '') problem('server', 'server must be a member id');
  if (typeof client !== 'string' || client === '') problem('client', 'client must be a member id');
  if (server === client) problem('client', 'server and client must be different members');
  if (typeof revealIntersection !== 'boolean') problem('revealIntersection', 'revealIntersection must be a boolean');
  if (!isPositiveInteger(minSetSize)) problem('minSetSize', 'minSetSize must be a positive integer');
  if (!isPositiveInteger(maxSessionsPerDay))
    problem('maxSessionsPerDay', 'maxSessionsPerDay must be a positive integer');
  if (!isPositiveInteger(sessionTtlSeconds))
    problem('sessionTtlSeconds', 'sessionTtlSeconds must be a positive integer');
  if (!IDENTIFIER_NORMALISATIONS.includes(normalisation as IdentifierNormalisation)) {
    problem('normalisation', `normalisation must be one of ${IDENTIFIER_NORMALISATIONS.join(', ')}`);
  }
  if (falsePositiveRate !== undefined && !isValidFalsePositiveRate(falsePositiveRate)) {
    problem('falsePositiveRate', 'falsePositiveRate must be a number strictly between 0 and 1');
  }
  if (typeof exactCount !== 'boolean') problem('exactCount', 'exactCount must be a boolean');
  if (!isPositiveFinite(epsilon) || (epsilon as number) > 10) problem('epsilon', 'epsilon must be in (0, 10]');
  if (!isPositiveFinite(epsilonBudget) || (epsilonBudget as number) < (epsilon as number))
    problem('epsilonBudget', 'epsilonBudget must be a number at least epsilon');
  if (
    !Array.isArray(releaseTo) ||
    releaseTo.length === 0 ||
    releaseTo.some((m) => m !== server && m !== client) ||
    new Set(releaseTo).size !== releaseTo.length
  )
    problem('releaseTo', 'releaseTo must name the server, the client or both, once each');
  if (problems.length > 0)
    throw new RefusedError('PSI_RULE_INVALID', problems, { message: 'The PSI rule is invalid.' });
  return Object.freeze({
    server: server as string,
    client: client as string,
    revealIntersection: revealIntersection as boolean,
    minSetSize: minSetSize as number,
    maxSessionsPerDay: maxSessionsPerDay as number,
    sessionTtlSeconds: sessionTtlSeconds as number,
    normalisation: normalisation as IdentifierNormalisation,
    ...(falsePositiveRate === undefined ? {} : { falsePositiveRate: falsePositiveRate as number }),
    exactCount: exactCount as boolean,
    epsilon: epsilon as number,
    epsilonBudget: epsilonBudget as number,
    releaseTo: Object.freeze([...(releaseTo as string[])]),
  });
}

export function isValidFalsePositiveRate(fpr: unknown): fpr is number {
  // psi.js answers 0 or 1 with an opaque BindingError and NaN with a WASM abort that kills the module.
  return typeof fpr === 'number' && Number.isFinite(fpr) && fpr > 0 && fpr < 1;
}

const DAY_MS = 86_400_000;

/** The UTC day `now` falls in (e.g. 2026-11-29): maxSessionsPerDay counts opens per such day. */
export const utcDay = (now: number): string => new Date(now).toISOString().slice(0, 10);

/** Refuses another session once the pair has opened `openedToday`; says when the next UTC day starts. */
export function requireSessionLeft(rule: Pick<PsiRule, 'maxSessionsPerDay'>, openedToday: number, now: number): void {
  if (openedToday < rule.maxSessionsPerDay) return;
  const retryAfterSeconds = Math.ceil(((Math.floor(now / DAY_MS) + 1) * DAY_MS - now) / 1000);
  const message = 'This member pair has used its PSI sessions for today.';
  throw refusalOf(
    diagnostic('PSI_RATE_LIMITED', message, 'psi.maxSessionsPerDay', {
      maxSessionsPerDay: rule.maxSessionsPerDay,
      retryAfterSeconds,
    }),
  );
}

/** The smallest set either side may bring under this rule. */
export function effectiveMinSetSize(rule: Pick<PsiRule, 'minSetSize'>): number {
  return Math.max(rule.minSetSize, MIN_SET_SIZE_FLOOR);
}

export interface PsiParameters {
  readonly falsePositiveRate?: number;
  readonly minSetSize: number;
  readonly maxSetSize?: number;
}

/** Every reason a set of `size` distinct identifiers may not enter a PSI, as data. */
export function checkSetSize(side: 'server' | 'client', size: number, params: PsiParameters): Diagnostic[] {
  const min = effectiveMinSetSize(params);
  const max = params.maxSetSize ?? MAX_SET_SIZE;
  if (size < min) {
    const message = `The ${side} set has ${size} distinct identifiers; the rule requires at least ${min}.`;
    return [diagnostic('PSI_SET_TOO_SMALL', message, 'psi.minSetSize', { side, size, minSetSize: min })];
  }
  if (size > max) {
    const message = `The ${side} set has ${size} distinct identifiers; at most ${max} are allowed.`;
    return [diagnostic('PSI_SET_TOO_LARGE', message, 'psi maximum set size', { side, size, maxSetSize: max })];
  }
  return [];
}

/** Every reason the protocol parameters are unusable, collected before psi.js is ever called. */
export function checkPsiParameters(
  params: PsiParameters,
  sizes: { readonly server?: number; readonly client?: number },
): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  const fpr = params.falsePositiveRate ?? DEFAULT_FALSE_POSITIVE_RATE;
  if (!isValidFalsePositiveRate(fpr)) {
    const message = 'The false positive rate must be strictly between 0 and 1.';
    diagnostics.push(
      diagnostic('PSI_INVALID_FALSE_POSITIVE_RATE', message, 'psi.falsePositiveRate', {
        falsePositiveRate: String(fpr),
      }),
    );
  }
  if (sizes.server !== undefined) diagnostics.push(...checkSetSize('server', sizes.server, params));
  if (sizes.client !== undefined) diagnostics.push(...checkSetSize('client', sizes.client, params));
  return diagnostics;
}
