import type {
  AnalysisRules,
  ColumnDocument,
  CollaborationDocument,
  DatasetDocument,
  PsiRuleDocument,
  Role,
} from './policy-document.ts';

/** A principal as the room knows it: who it is, for which member, with what roles. */
export interface Principal {
  readonly id: string;
  readonly memberId: string;
  readonly publicKey: Uint8Array;
  /** base64, as in the policy and the request header */
  readonly publicKeyText: string;
  readonly roles: ReadonlySet<Role>;
}

export interface Member {
  readonly id: string;
  readonly name: string;
  readonly principals: readonly Principal[];
}

export interface Dataset {
  readonly name: string;
  readonly owner: string;
  readonly region: string;
  readonly retentionDays: number;
  readonly format: 'csv' | 'parquet';
  readonly columns: readonly ColumnDocument[];
  readonly column: ReadonlyMap<string, ColumnDocument>;
  readonly rules: AnalysisRules;
  readonly document: DatasetDocument;
}

/** A validated, frozen collaboration with the lookups every later stage needs. */
export interface Collaboration {
  readonly id: string;
  readonly title: string;
  /** SHA-256 of the canonical JSON document: what officers sign. */
  readonly hash: string;
  readonly document: CollaborationDocument;
  readonly members: ReadonlyMap<string, Member>;
  readonly principals: ReadonlyMap<string, Principal>;
  readonly principalsByKey: ReadonlyMap<string, Principal>;
  readonly datasets: ReadonlyMap<string, Dataset>;
  readonly psiRules: readonly PsiRuleDocument[];
}

/** The officers of every member must sign before anything runs. */
export const officersOf = (collaboration: Collaboration, memberId: string): Principal[] =>
  (collaboration.members.get(memberId)?.principals ?? []).filter((p) => p.roles.has('officer'));

export const hasRole = (principal: Principal, role: Role): boolean => principal.roles.has(role);
