import { readFileSync } from 'node:fs';
import { Router, type Response } from 'express';
import { browserNaclSource } from '../../crypto/browser-nacl.ts';

const asset = (name: string) => readFileSync(new URL(`../../console/${name}`, import.meta.url));

/**
 * The officers' console: one page, its script and style, and tweetnacl's browser build, all served by
 * the room from memory. The page holds no authority of its own: it signs the same /v1 requests the
 * CLI signs, with the key the officer loads into it. A strict CSP allows only these files to run.
 */
export function consoleRoutes(): Router {
  const files = {
    page: asset('console.html'),
    script: asset('console.js'),
    style: asset('console.css'),
    nacl: browserNaclSource(),
  };
  const send = (res: Response, type: string, body: Buffer) => {
    res.set({
      'content-type': type,
      'content-security-policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    });
    res.send(body);
  };
  const router = Router();
  router.get(['/console', '/console/'], (_req, res) => send(res, 'text/html; charset=utf-8', files.page));
  router.get('/console/console.js', (_req, res) => send(res, 'text/javascript; charset=utf-8', files.script));
  router.get('/console/console.css', (_req, res) => send(res, 'text/css; charset=utf-8', files.style));
  router.get('/console/vendor/nacl-fast.min.js', (_req, res) =>
    send(res, 'text/javascript; charset=utf-8', files.nacl),
  );
  return router;
}
