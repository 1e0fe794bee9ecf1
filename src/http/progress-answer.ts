import type { Request, Response } from 'express';
import { CleanroomError } from '../errors/cleanroom-error.ts';
import type { Logger } from '../log/logger.ts';
import { body as errorBody } from './error-handler.ts';

/**
 * Answers long work (an extract's search, a model's passes). Asked for with
 * `accept: application/x-ndjson`, the answer is lines: `{"progress": …}` as the work reports it, then
 * `{"result": …}` or `{"error": …, "status"}`. The status line goes out with the first progress line,
 * so a refusal before any work (role, approval, recipient) is an ordinary error answer. Without that
 * accept header the answer is plain JSON.
 */
export async function answerWithProgress<P, R>(
  req: Request,
  res: Response,
  log: Logger,
  work: (onProgress?: (progress: P) => void) => Promise<R>,
): Promise<void> {
  if (!(req.get('accept') ?? '').includes('application/x-ndjson')) {
    res.json(await work());
    return;
  }
  const line = (value: unknown) => res.write(`${JSON.stringify(value)}\n`);
  const start = () => {
    if (!res.headersSent) res.status(200).type('application/x-ndjson');
  };
  let result: R;
  try {
    result = await work((progress) => {
      start();
      line({ progress });
    });
  } catch (error) {
    if (!res.headersSent) throw error;
    if (error instanceof CleanroomError)
      line({ ...errorBody(error.code, error.message, { ...error.details }), status: error.status });
    else {
      log.error({ err: error, path: req.path }, 'unexpected error');
      line({ ...errorBody('INTERNAL', 'The room hit an unexpected error; it has been logged.'), status: 500 });
    }
    res.end();
    return;
  }
  start();
  line({ result });
  res.end();
}
