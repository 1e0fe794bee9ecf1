/** The collaboration policy as written in policies/<id>.json; the schema is policies/schema/. */
export type Role = 'provider' | 'analyst' | 'officer' | 'modeler';
export type ColumnClass = 'identifier' | 'dimension' | 'metric' | 'quasi' | 'blocked';
export type ColumnType = 'VARCHAR' | 'BOOLEAN' | 'INTEGER' | 'BIGINT' | 'DOUBLE' | 'DATE' | 'TIMESTAMP';
export type AggregateName =
  'count' | 'count_distinct' | 'sum' | 'avg' | 'min' | 'max' | 'stddev' | 'variance' | 'median';

export interface PrincipalDocument {
  readonly id: string;
  readonly name?: string;
  readonly publicKey: string;
  readonly roles: readonly Role[];
}

export interface MemberDocument {
  readonly id: string;
  readonly name: string;
  readonly principals: readonly PrincipalDocument[];
}

export interface ColumnDocument {
  readonly name: string;
  readonly type: ColumnType;
  readonly class: ColumnClass;
  readonly description?: string;
}

export interface JoinRule {
  readonly column: string;
  readonly dataset: string;
  readonly partnerColumn: string;
}

export interface DpRules {
  readonly required?: boolean;
  readonly mechanism?: 'laplace' | 'gaussian';
  readonly maxGroupsPerUnit: number;
  readonly maxRowsPerUnit: number;
  readonly clamp?: Readonly<Record<string, readonly [number, number]>>;
  readonly maxEpsilonPerQuery?: number;
  readonly partitionSelectionDelta?: number;
  readonly budget: {
    readonly epsilon: number;
    readonly delta?: number;
    readonly period: 'day' | 'week' | 'month' | 'total';
  };
}

export interface AnalysisRules {
  readonly privacyUnit: string;
  readonly minGroupSize: number;
  readonly aggregates: readonly AggregateName[];
  readonly adHocQueries?: boolean;
  readonly joins?: readonly JoinRule[];
  readonly resultReceivers: readonly string[];
  readonly maxResultRows?: number;
  /** threshold mode: suppress a group whose top `topContributors` people give more than `maxShare` of a count or sum */
  readonly dominance?: DominanceRule;
  readonly dp?: DpRules;
  readonly extract?: ExtractRules;
  readonly model?: ModelRules;
}

export interface PerPersonFeature {
  readonly aggregate: 'count' | 'sum' | 'avg' | 'min' | 'max';
  readonly column?: string;
  readonly bounds: readonly [number, number];
}

/** Models trained inside the room: which columns may be features or labels, and the bounds the room clips them to. */
export interface ModelRules {
  /** numeric feature columns and their clipping bounds */
  readonly features: Readonly<Record<string, readonly [number, number]>>;
  /** dimension columns one-hot encoded with exactly these levels */
  readonly categories?: Readonly<Record<string, readonly string[]>>;
  /** label columns and their bounds */
  readonly labels: Readonly<Record<string, readonly [number, number]>>;
  /**
   * Per-person aggregates of this dataset's rows that another dataset's model may join as features
   * (on the two privacy units): the aggregate, the column it reads (none for count) and the bounds
   * the per-person value is clipped to.
   */
  readonly perPerson?: Readonly<Record<string, PerPersonFeature>>;
  readonly minPeople: number;
  readonly dpRequired?: boolean;
  readonly maxEpsilonPerModel?: number;
  readonly recipients: readonly string[];
}

/** Anonymized row-level extracts: k people per class of the generalised quasi-identifiers, optionally l and t. */
export interface ExtractRules {
  readonly k: number;
  readonly l?: { readonly attribute: string; readonly l: number; readonly kind?: 'distinct' | 'entropy' };
  readonly t?: { readonly attribute: string; readonly t: number };
  /** share of people whose rows may be dropped (their classes are under k) */
  readonly maxSuppression: number;
  /** columns released as stored */
  readonly attributes?: readonly string[];
  /** per quasi-identifier, its hierarchy from finest to coarsest; the top level `*` is implied */
  readonly quasiIdentifiers: Readonly<Record<string, Hierarchy>>;
  readonly recipients: readonly string[];
  readonly republish?: boolean;
}

export type Hierarchy =
  | { readonly bands: readonly number[] }
  | { readonly dateTrunc: readonly ('month' | 'quarter' | 'year')[] }
  | { readonly prefix: readonly number[] }
  | { readonly groups: readonly Readonly<Record<string, string>>[] };

export interface DominanceRule {
  readonly topContributors: number;
  readonly maxShare: number;
}

export interface DatasetDocument {
  readonly name: string;
  readonly owner: string;
  readonly description?: string;
  readonly region: string;
  readonly retentionDays: number;
  readonly format?: 'csv' | 'parquet';
  readonly columns: readonly ColumnDocument[];
  readonly rules: AnalysisRules;
}

export interface PsiRuleDocument {
  readonly server: string;
  readonly client: string;
  readonly revealIntersection?: boolean;
  readonly minSetSize: number;
  readonly maxSessionsPerDay: number;
  readonly sessionTtlSeconds: number;
  readonly normalisation: 'email' | 'e164' | 'sha256-email' | 'none';
  readonly falsePositiveRate?: number;
  readonly exactCount?: boolean;
  readonly epsilon?: number;
  readonly epsilonBudget?: number;
  readonly releaseTo?: readonly string[];
}

export interface CollaborationDocument {
  readonly id: string;
  readonly title: string;
  readonly description?: string;
  readonly members: readonly MemberDocument[];
  readonly datasets: readonly DatasetDocument[];
  readonly psi?: readonly PsiRuleDocument[];
}
