import request from 'supertest';
import type { App } from 'supertest/types.js';

/**
 * A `fetch` that hands each request to the express app through supertest, so HTTP tests need no
 * listening room: the request still goes through express, its body parsers, the signature check
 * and the one error handler, exactly as over a socket. Streamed uploads and the CLI, where the
 * socket is the point, still use the room's loopback address.
 */
export function inProcessFetch(app: App): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? 'GET').toUpperCase();
    let test = request(app)[method.toLowerCase() as 'get'](`${url.pathname}${url.search}`);
    for (const [name, value] of Object.entries((init?.headers ?? {}) as Record<string, string>))
      test = test.set(name, value);
    const body = init?.body;
    if (body !== undefined && body !== null)
      test = test.send(typeof body === 'string' ? body : Buffer.from(body as Uint8Array));
    const answer = await test.buffer(true).parse((res, done) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done(null, Buffer.concat(chunks)));
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(answer.headers as Record<string, string | string[]>)) {
      for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
    }
    const bytes = answer.body as Buffer;
    const empty = answer.status === 204 || answer.status === 304 || bytes.length === 0;
    return new Response(empty ? null : new Uint8Array(bytes), { status: answer.status, headers });
  };
}
