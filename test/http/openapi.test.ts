import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_OPERATIONS } from '../../src/http/openapi.ts';
import { refusal } from '../support/refusal.ts';
import { startTestRoom, type TestRoom } from '../support/test-room.ts';

// Issue #12: GET /v1/openapi.json states every route the app serves, no more, with the request
// schemas the routes validate with; each claim is checked against the running app.
let t: TestRoom;
let doc: {
  openapi: string;
  paths: Record<
    string,
    Record<string, { security?: unknown[]; requestBody?: { content: Record<string, { schema: object }> } }>
  >;
};

// The console's script, style and tweetnacl are the page's assets, not API operations.
const ASSETS = ['/console/console.js', '/console/console.css', '/console/vendor/nacl-fast.min.js'];

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}
function servedRoutes(stack: Layer[], out: string[] = []): string[] {
  for (const layer of stack) {
    if (layer.route) {
      const path = Array.isArray(layer.route.path) ? layer.route.path[0]! : layer.route.path;
      for (const method of Object.keys(layer.route.methods)) out.push(`${method} ${path}`);
    } else if (layer.handle?.stack) servedRoutes(layer.handle.stack, out);
  }
  return out;
}
const concrete = (path: string) =>
  path
    .replace(':id', 'demo')
    .replace(':name', 'x')
    .replace(':seq', '1')
    .replace(':session', 's')
    .replace(':extract', 'e');

beforeAll(async () => {
  t = await startTestRoom();
  doc = (await (await fetch(`${t.baseUrl}/v1/openapi.json`)).json()) as typeof doc;
}, 60_000);
afterAll(async () => t.close());

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists exactly the routes the app serves', () => {
    expect(doc.openapi).toBe('3.1.0');
    const served = servedRoutes((t.app as unknown as { router: { stack: Layer[] } }).router.stack)
      .filter((r) => !ASSETS.includes(r.split(' ')[1]!))
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path.replace(/\{([a-z]+)\}/g, ':$1')}`))
      .sort();
    expect(documented).toEqual(served);
  });

  it('states the very schemas the routes validate with, and each compiles', () => {
    const ajv = new Ajv2020({ strict: false });
    let bodies = 0;
    for (const op of API_OPERATIONS) {
      if (!op.body || typeof op.body === 'string') continue;
      const path = op.path.replace(/:([a-z]+)/g, '{$1}');
      const stated = doc.paths[path]?.[op.method]?.requestBody?.content['application/json']?.schema;
      expect(stated).toEqual(JSON.parse(JSON.stringify(op.body.schema)));
      expect(() => ajv.compile(stated as object)).not.toThrow();
      bodies += 1;
    }
    expect(bodies).toBeGreaterThanOrEqual(10);
  });

  it('says which routes need a signature: those answer 401 unsigned, the public ones do not', async () => {
    for (const op of API_OPERATIONS) {
      const path = op.path.replace(/:([a-z]+)/g, '{$1}');
      const signed = (doc.paths[path]?.[op.method]?.security ?? []).some((s) => 'signedRequest' in (s as object));
      const response = await fetch(`${t.baseUrl}${concrete(op.path)}`, { method: op.method.toUpperCase() });
      if (signed) expect(response.status, `${op.method} ${op.path}`).toBe(401);
      else expect(response.status, `${op.method} ${op.path}`).not.toBe(401);
    }
  });

  it('a JSON body outside the stated schema is refused by the route itself', async () => {
    await t.acceptAll();
    for (const op of API_OPERATIONS) {
      if (!op.body || typeof op.body === 'string' || op.method !== 'post') continue;
      const principal =
        op.path.endsWith('/approvals') || op.path.endsWith('/acceptances') ? 'acme-officer' : 'acme-analyst';
      const answer = await refusal(
        t.client(principal).send('POST', concrete(op.path).replace('/x/', '/audience_overlap_by_segment/'), {
          __not_in_the_schema: true,
        }),
      );
      expect(answer.status, `${op.method} ${op.path}`).toBeGreaterThanOrEqual(400);
      expect(answer.code, `${op.method} ${op.path}`).toMatch(/INVALID/);
    }
  });
});
