import type { PrivacyCost } from '../privacy/index.ts';
import type { QueryReport } from '../query/query-plan.ts';
import type { AuditEntry } from '../audit/audit-entry.ts';
import { canonicalJson, sha256Hex } from '../crypto/hashing.ts';
import type { Cell } from '../store/result-values.ts';

/** What a threshold release says it did: the rule, the units counted, how many groups it held back. */
export interface PrivacyBlock {
  readonly mode: 'threshold';
  readonly minGroupSize: number;
  readonly privacyUnits: readonly string[];
  readonly groupsSuppressed: number;
  readonly rowCap: number;
  readonly truncated: boolean;
  readonly policyHash: string;
  readonly rule: string;
}

/** What a DP release says it did: what it cost, what is left, and each column's noise. */
export interface DpPrivacyBlock {
  readonly mode: 'dp';
  readonly mechanism: 'laplace' | 'gaussian';
  readonly epsilonSpent: number;
  readonly deltaSpent: number;
  readonly remaining: Readonly<Record<string, PrivacyCost>>;
  readonly contribution: { readonly maxGroupsPerUnit: number; readonly maxRowsPerUnit: number };
  readonly partitionSelection: { readonly threshold: number; readonly epsilon: number; readonly delta: number } | null;
  /** per released column: the noise scale (Laplace b or Gaussian sigma) and a 95% interval half-width */
  readonly noise: Readonly<
    Record<string, { readonly scale: number; readonly ci95HalfWidth: number | null; readonly note?: string }>
  >;
  readonly policyHash: string;
}

export interface TemplateRef {
  readonly name: string;
  readonly hash: string;
}

export type QueryResponse =
  | {
      readonly dryRun: true;
      readonly rewrittenSql: string;
      readonly report: QueryReport;
      readonly dp?: unknown;
      readonly template?: TemplateRef & { readonly runnable: boolean };
    }
  | {
      readonly dryRun: false;
      readonly columns: readonly { name: string; type: string }[];
      readonly rows: readonly (readonly Cell[])[];
      readonly privacy: PrivacyBlock | DpPrivacyBlock;
      readonly auditSeq: number;
      /**
       * The room-signed audit entry of this release: its details name the template or SQL, the policy
       * hash, the data versions read, the guarantee and `resultSha256` (resultDigest of columns and
       * rows), so a result file's provenance can be checked offline with the room's public key.
       */
      readonly audit: AuditEntry;
      readonly template?: TemplateRef;
    };

/** SHA-256 of the released columns and rows as RFC 8785 canonical JSON: what the audit entry attests. */
export const resultDigest = (
  columns: readonly { readonly name: string; readonly type: string }[],
  rows: readonly (readonly Cell[])[],
): string => sha256Hex(canonicalJson({ columns, rows }));
