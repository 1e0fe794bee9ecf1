import { validateExtractTemplate } from '../extract/extract-template.ts';
import { validateModelTemplate } from '../model/model-template.ts';
import { validateTemplateDocument } from '../query/template.ts';
import type { Validator } from '../validation/json-validator.ts';
import { acceptanceBody, auditQuery } from './routes/collaboration-routes.ts';
import { runBody } from './routes/extract-routes.ts';
import { scoreBody, trainBody } from './routes/model-routes.ts';
import { openBody } from './routes/psi-routes.ts';
import { dryRunBody, queryBody, reviewBody } from './routes/query-routes.ts';

/** Who may call an operation: anyone, a signed member request, or the operator (metrics). */
type Access = 'public' | 'signed' | 'operator';

/** One operation as the document states it; the test walks express's own routes against this list. */
export interface ApiOperation {
  readonly method: 'get' | 'post' | 'put' | 'delete';
  /** express syntax (`:id`), as registered */
  readonly path: string;
  readonly summary: string;
  readonly access: Access;
  readonly body?: Validator<unknown> | 'envelope' | 'psi-message';
  readonly query?: Validator<unknown>;
  /** the success status and what it carries */
  readonly ok: readonly [number, string];
  /** streams NDJSON progress lines when asked with accept: application/x-ndjson */
  readonly progress?: boolean;
}

const C = '/v1/collaborations/:id';
const PSI_KINDS = ['setup', 'request', 'response', 'final', 'key'] as const;
const PSI_READABLE = ['setup', 'request', 'response'] as const;

/** The four operations every reviewed template kind has: list, propose, review view, signed review. */
const reviewedTemplates = (segment: string, what: string, proposal: Validator<unknown>): ApiOperation[] => [
  {
    method: 'get',
    path: `${C}/${segment}`,
    summary: `Every ${what} and its reviews`,
    access: 'signed',
    ok: [200, 'templates'],
  },
  {
    method: 'post',
    path: `${C}/${segment}`,
    summary: `Propose a ${what}`,
    access: 'signed',
    body: proposal,
    ok: [201, 'review view'],
  },
  {
    method: 'get',
    path: `${C}/${segment}/:name`,
    summary: `Review view of a ${what}`,
    access: 'signed',
    ok: [200, 'review view'],
  },
  {
    method: 'post',
    path: `${C}/${segment}/:name/approvals`,
    summary: 'Sign approve or reject',
    access: 'signed',
    body: reviewBody,
    ok: [201, 'review view'],
  },
];

export const API_OPERATIONS: readonly ApiOperation[] = [
  {
    method: 'get',
    path: '/v1/health',
    summary: 'Liveness; names quarantined policy files',
    access: 'public',
    ok: [200, 'status'],
  },
  {
    method: 'get',
    path: '/v1/ready',
    summary: 'Readiness: 503 while a policy or dataset failed to load',
    access: 'public',
    ok: [200, 'ready'],
  },
  {
    method: 'get',
    path: '/v1/metrics',
    summary: 'Prometheus metrics (bearer token; without one configured, direct loopback callers only)',
    access: 'operator',
    ok: [200, 'Prometheus text'],
  },
  { method: 'get', path: '/v1/openapi.json', summary: 'This document', access: 'public', ok: [200, 'OpenAPI 3.1'] },
  {
    method: 'get',
    path: '/v1/room',
    summary: "The room's public keys, limits, residency and collaborations",
    access: 'public',
    ok: [200, 'room'],
  },
  {
    method: 'get',
    path: '/console',
    summary: "The officers' console (one page; every action in it is a signed request)",
    access: 'public',
    ok: [200, 'HTML'],
  },
  {
    method: 'get',
    path: C,
    summary: 'Policy, status, acceptances and the caller',
    access: 'signed',
    ok: [200, 'collaboration'],
  },
  {
    method: 'get',
    path: `${C}/policy/changes`,
    summary: "What changed since the caller's member accepted",
    access: 'signed',
    ok: [200, 'changes'],
  },
  {
    method: 'post',
    path: `${C}/acceptances`,
    summary: 'An officer accepts the policy hash',
    access: 'signed',
    body: acceptanceBody,
    ok: [201, 'status'],
  },
  {
    method: 'get',
    path: `${C}/audit`,
    summary: 'The audit chain, whole; or one filtered page',
    access: 'signed',
    query: auditQuery,
    ok: [200, 'entries'],
  },
  {
    method: 'get',
    path: `${C}/datasets/:name`,
    summary: 'Declaration, current version, expiry',
    access: 'signed',
    ok: [200, 'dataset status'],
  },
  {
    method: 'put',
    path: `${C}/datasets/:name`,
    summary: 'Upload a sealed envelope (streamed)',
    access: 'signed',
    body: 'envelope',
    ok: [201, 'receipt'],
  },
  {
    method: 'post',
    path: `${C}/datasets/:name/upload-preflight`,
    summary: "The upload's checks (declared, owner's provider, region, active) before any byte is sent",
    access: 'signed',
    ok: [200, 'admitted'],
  },
  {
    method: 'delete',
    path: `${C}/datasets/:name`,
    summary: 'Crypto-shred every held version now',
    access: 'signed',
    ok: [200, 'deletion'],
  },
  ...reviewedTemplates('templates', 'query template', validateTemplateDocument),
  {
    method: 'post',
    path: `${C}/templates/:name/dry-run`,
    summary: 'Run a template on synthetic rows of the declared columns (reviewers, proposer)',
    access: 'signed',
    body: dryRunBody,
    ok: [200, 'synthetic answer'],
  },
  {
    method: 'get',
    path: `${C}/budget`,
    summary: "The caller's member's DP budgets",
    access: 'signed',
    ok: [200, 'budgets'],
  },
  {
    method: 'get',
    path: `${C}/budget/spending`,
    summary: "Each member's spending on the caller's datasets",
    access: 'signed',
    ok: [200, 'spending'],
  },
  {
    method: 'post',
    path: `${C}/queries`,
    summary: 'Run ad hoc SQL or a template (threshold or DP)',
    access: 'signed',
    body: queryBody,
    ok: [200, 'answer'],
  },
  ...reviewedTemplates('extract-templates', 'extract template', validateExtractTemplate),
  {
    method: 'post',
    path: `${C}/extracts`,
    summary: 'Run an extract (or a dry run)',
    access: 'signed',
    body: runBody,
    ok: [200, 'extract'],
    progress: true,
  },
  {
    method: 'get',
    path: `${C}/extracts/:extract`,
    summary: 'The sealed extract',
    access: 'signed',
    ok: [200, 'sealed envelope'],
  },
  ...reviewedTemplates('model-templates', 'model template', validateModelTemplate),
  {
    method: 'post',
    path: `${C}/models`,
    summary: 'Train a model; the signed card',
    access: 'signed',
    body: trainBody,
    ok: [201, 'model card'],
    progress: true,
  },
  {
    method: 'get',
    path: `${C}/models`,
    summary: 'Model cards the caller may read',
    access: 'signed',
    ok: [200, 'cards'],
  },
  { method: 'get', path: `${C}/models/:seq`, summary: 'One model card', access: 'signed', ok: [200, 'card'] },
  {
    method: 'post',
    path: `${C}/models/:seq/scores`,
    summary: "Score the owner's own rows (DP models)",
    access: 'signed',
    body: scoreBody,
    ok: [200, 'CSV'],
  },
  {
    method: 'post',
    path: `${C}/psi`,
    summary: 'Open a PSI session',
    access: 'signed',
    body: openBody,
    ok: [201, 'session'],
  },
  {
    method: 'get',
    path: `${C}/psi`,
    summary: "The caller's member's live PSI sessions",
    access: 'signed',
    ok: [200, 'sessions'],
  },
  { method: 'get', path: `${C}/psi/:session`, summary: 'PSI session state', access: 'signed', ok: [200, 'session'] },
  {
    method: 'delete',
    path: `${C}/psi/:session`,
    summary: 'End a PSI session now (either party; audited; the day’s count stays spent)',
    access: 'signed',
    ok: [200, 'cancelled session'],
  },
  ...PSI_KINDS.map((kind): ApiOperation => ({
    method: 'put',
    path: `${C}/psi/:session/${kind}`,
    summary: `Post the PSI ${kind} message`,
    access: 'signed',
    body: 'psi-message',
    ok: [201, 'session'],
  })),
  ...PSI_READABLE.map((kind): ApiOperation => ({
    method: 'get',
    path: `${C}/psi/:session/${kind}`,
    summary: `Read the PSI ${kind} message`,
    access: 'signed',
    ok: [200, 'bytes'],
  })),
  {
    method: 'get',
    path: `${C}/psi/:session/result`,
    summary: 'Read a room-counted session’s noisy count and its 95% interval (members the rule releases to)',
    access: 'signed',
    ok: [200, 'result'],
  },
];

const ERROR = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message', 'details'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object' } },
    },
  },
};

const SIGNED_HEADERS = ['x-cleanroom-key', 'x-cleanroom-timestamp', 'x-cleanroom-nonce', 'x-cleanroom-content-sha256'];

/** get + /v1/collaborations/{id}/audit → getV1CollaborationsIdAudit */
const operationId = (method: string, path: string): string =>
  method +
  path
    .replace(/[{}]/g, '')
    .replace(/[^A-Za-z0-9]+(.)?/g, (_match, next: string | undefined) => (next ?? '').toUpperCase());

/** The OpenAPI 3.1 document of the room's HTTP API, built from the route table and the routes' own schemas. */
export function openApiDocument(version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of API_OPERATIONS) {
    const path = op.path.replace(/:([a-z]+)/g, '{$1}');
    const parameters = [
      ...[...op.path.matchAll(/:([a-z]+)/g)].map((m) => ({
        name: m[1],
        in: 'path',
        required: true,
        schema: { type: 'string' },
      })),
      ...(op.query
        ? Object.entries((op.query.schema as { properties: Record<string, object> }).properties).map(
            ([name, schema]) => ({ name, in: 'query', required: false, schema }),
          )
        : []),
    ];
    const body =
      op.body === 'envelope' || op.body === 'psi-message'
        ? {
            required: true,
            content: {
              'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } },
            },
          }
        : op.body
          ? { required: true, content: { 'application/json': { schema: op.body.schema } } }
          : undefined;
    (paths[path] ??= {})[op.method] = {
      operationId: operationId(op.method, path),
      summary: op.summary,
      ...(op.access === 'signed'
        ? { security: [{ signedRequest: [] }] }
        : op.access === 'operator'
          ? { security: [{ metricsToken: [] }] } // loopback without a token is a deployment choice, said in the summary
          : { security: [] }),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body ? { requestBody: body } : {}),
      responses: {
        [String(op.ok[0])]: {
          description:
            op.ok[1] + (op.progress ? '; with accept: application/x-ndjson, progress lines then the result' : ''),
        },
        default: {
          description: 'A refusal or error',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
        },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cleanroom room API',
      version,
      description:
        'Every /v1/collaborations route is signed: Ed25519 over ' +
        'CLEANROOM-REQUEST-V1\\nMETHOD\\npath?query\\ntimestamp\\nnonce\\ncontent-sha256, in the headers ' +
        `${SIGNED_HEADERS.join(', ')} and x-cleanroom-signature. ` +
        'Every answer carries x-request-id and x-cleanroom-region.',
    },
    paths,
    components: {
      schemas: { Error: ERROR },
      securitySchemes: {
        signedRequest: {
          type: 'apiKey',
          in: 'header',
          name: 'x-cleanroom-signature',
          description: 'see info.description',
        },
        metricsToken: { type: 'http', scheme: 'bearer' },
      },
    },
  };
}
