import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { STREAMED_ENVELOPE, signRequest, type RequestSigner } from '../auth/request-signature.ts';
import { sha256Hex } from '../crypto/hashing.ts';

/** An error answer from the room, with its code and details intact for the caller to show. */
export class RoomRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'RoomRequestError';
  }
}

/**
 * The room could not be reached (connection refused, name not resolved, reset, timed out): the message
 * names the address and the underlying cause instead of undici's bare "fetch failed".
 */
export class RoomUnreachableError extends Error {
  constructor(
    readonly url: string,
    override readonly cause: unknown,
    readonly attempts: number,
  ) {
    const tries = attempts > 1 ? ` (${attempts} attempts)` : '';
    super(`Could not reach the room at ${url}: ${describeNetworkCause(cause)}${tries}.`);
    this.name = 'RoomUnreachableError';
  }
}

const NETWORK_CAUSES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'nothing is listening there (is the room running? `cleanroom serve`)',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved just now',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
};

/** The innermost error code of a network failure (undici wraps the socket's error as `cause`). */
function networkCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

function describeNetworkCause(error: unknown): string {
  const code = networkCode(error);
  if (code) return `${NETWORK_CAUSES[code] ?? 'a network error'} (${code})`;
  const inner = (error as { cause?: { message?: string } } | undefined)?.cause?.message;
  return inner ?? (error as Error | undefined)?.message ?? 'a network error';
}

/** Network failures worth another try: the request may not have reached the room at all. */
const RETRIED_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'EPIPE']);
/** Answers that say "later": a proxy's 502/504 or the room's 503 (starting, shutting down, disk). */
const RETRIED_STATUSES = new Set([502, 503, 504]);

async function answer<T>(response: Response): Promise<T> {
  return parseAnswer<T>(response.status, response.statusText, await response.text());
}

function parseAnswer<T>(status: number, statusText: string, text: string): T {
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (status < 200 || status > 299) {
    const error = (
      parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined
    )?.error;
    throw new RoomRequestError(
      status,
      error?.code ?? `HTTP_${status}`,
      error?.message ?? (text.slice(0, 200) || statusText),
      error?.details ?? {},
    );
  }
  return parsed as T;
}

/** Talks to a room over HTTP, signing every request with one principal's key. */
export class RoomClient {
  readonly #fetch: typeof fetch;

  /**
   * `idleTimeoutMs`: how long a streamed upload may see no progress (the room neither reading nor
   * answering) before it is abandoned; 5 minutes, as undici's fetch timeouts were. `fetch` carries
   * every request but streamed uploads (tests hand the app in process; the CLI uses the network).
   */
  constructor(
    readonly baseUrl: string,
    private readonly signer?: RequestSigner,
    private readonly options: {
      readonly idleTimeoutMs?: number;
      readonly fetch?: typeof fetch;
      /** delays before each retry of an idempotent request (GET); default 0.25, 0.5, 1 s */
      readonly retryDelaysMs?: readonly number[];
    } = {},
  ) {
    this.#fetch = options.fetch ?? fetch;
  }

  /**
   * One exchange with the room. A network failure becomes a RoomUnreachableError naming its cause;
   * an idempotent request (GET) is tried again after a network failure or a 502/503/504, each time
   * with fresh headers (a signed request is signed anew: the room refuses a replayed signature).
   */
  async #exchange(
    method: string,
    path: string,
    init: () => RequestInit,
    idempotent = method === 'GET',
  ): Promise<Response> {
    const url = new URL(path, this.baseUrl);
    const delays = idempotent ? (this.options.retryDelaysMs ?? [250, 500, 1000]) : [];
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= delays.length;
      let response: Response;
      try {
        response = await this.#fetch(url, { ...init(), method });
      } catch (error) {
        if (last || !RETRIED_CODES.has(networkCode(error) ?? ''))
          throw new RoomUnreachableError(url.origin, error, attempt + 1);
        await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
        continue;
      }
      if (last || !RETRIED_STATUSES.has(response.status)) return response;
      await response.arrayBuffer().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, delays[attempt]));
    }
  }

  /** An unsigned GET (health, room keys). */
  async getPublic<T>(path: string): Promise<T> {
    return answer<T>(await this.#exchange('GET', path, () => ({})));
  }

  /** A signed JSON request. */
  async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? '' : JSON.stringify(body);
    return answer<T>(
      await this.#exchange(method, path, () => {
        const headers: Record<string, string> = { ...this.sign(method, path, sha256Hex(text)) };
        if (text) headers['content-type'] = 'application/json';
        return { headers, body: text || undefined };
      }),
    );
  }

  /** A signed JSON request whose answer is raw bytes (CSV scores); a refusal is thrown as `send` would. */
  async sendForBytes(method: string, path: string, body: unknown): Promise<Uint8Array> {
    const text = JSON.stringify(body);
    const response = await this.#exchange(method, path, () => ({
      headers: { ...this.sign(method, path, sha256Hex(text)), 'content-type': 'application/json' },
      body: text,
    }));
    if (!response.ok) return answer<never>(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * A signed streamed upload of envelope bytes, through node:http rather than fetch: undici's fetch
   * keeps a streamed request body in memory (nodejs/undici#4058; measured here: 1.4 GB of client
   * memory for a 1.25 GB upload), while a piped request reads the next piece only as the socket
   * drains. A room that refuses mid-stream answers before reading the rest; that answer wins.
   */
  async stream<T>(method: string, path: string, body: AsyncIterable<Uint8Array>): Promise<T> {
    const [status, statusText, answered] = await this.#upload(method, path, STREAMED_ENVELOPE, (request) =>
      pipeline(Readable.from(body, { objectMode: false }), request),
    );
    return parseAnswer<T>(status, statusText, answered.toString('utf8'));
  }

  /**
   * One signed request whose body is written by `send`, over node:http: the answer as status, status
   * text and the whole body. If the room answers before it has read the body (a refusal), its answer
   * wins over the write failing as the room closes the connection; otherwise a failed write is thrown.
   */
  async #upload(
    method: string,
    path: string,
    contentSha256: string,
    send: (request: ClientRequest) => Promise<unknown>,
  ): Promise<[number, string, Buffer]> {
    const url = new URL(path, this.baseUrl);
    const headers = { ...this.sign(method, path, contentSha256), 'content-type': 'application/octet-stream' };
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers });
    const idleMs = this.options.idleTimeoutMs ?? 300_000;
    request.setTimeout(idleMs, () =>
      request.destroy(
        new Error(
          `The room made no progress for ${idleMs / 1000} s (neither reading the upload nor answering); the upload ` +
            `was abandoned.`,
        ),
      ),
    );
    const responded = new Promise<IncomingMessage>((resolve, reject) =>
      request.once('response', resolve).once('error', reject),
    );
    const sent = send(request).then(
      () => undefined,
      (error: unknown) => error,
    );
    const response = await responded.catch(async (error: unknown) => {
      const failure = (await sent) ?? error;
      throw networkCode(failure) && NETWORK_CAUSES[networkCode(failure)!]
        ? new RoomUnreachableError(url.origin, failure, 1)
        : failure;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
    const status = response.statusCode ?? 0;
    if (status < 200 || status > 299) request.destroy();
    else {
      const failure = await sent;
      if (failure) throw failure;
    }
    return [status, response.statusMessage ?? '', Buffer.concat(chunks)];
  }

  /**
   * A signed JSON request whose answer streams as NDJSON lines (`{"progress"}` … then `{"result"}` or
   * `{"error"}`): each progress line goes to `onProgress`, the result is returned, an error line thrown
   * as the room's refusal. A room that answers plain JSON (an early refusal) is handled as `send`.
   */
  async sendWithProgress<T, P>(method: string, path: string, body: unknown, onProgress: (progress: P) => void) {
    const text = JSON.stringify(body);
    const response = await this.#exchange(method, path, () => ({
      headers: {
        ...this.sign(method, path, sha256Hex(text)),
        'content-type': 'application/json',
        accept: 'application/x-ndjson',
      },
      body: text,
    }));
    if (!response.ok || !response.headers.get('content-type')?.includes('ndjson') || !response.body)
      return answer<T>(response);
    let pending = '';
    let result: T | undefined;
    const decoder = new TextDecoder();
    const handle = (line: string) => {
      if (!line.trim()) return;
      const parsed = JSON.parse(line) as { progress?: P; result?: T; error?: unknown; status?: number };
      if (parsed.progress !== undefined) onProgress(parsed.progress);
      else if (parsed.result !== undefined) result = parsed.result;
      else if (parsed.error !== undefined) parseAnswer<never>(parsed.status ?? 500, 'error', line);
    };
    for await (const piece of response.body as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(piece, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(handle);
    }
    handle(pending + decoder.decode());
    if (result === undefined) throw new Error('The room ended its answer without a result.');
    return result;
  }

  /** A signed GET answering raw bytes (a sealed extract). */
  async receiveBytes(path: string): Promise<Uint8Array> {
    const response = await this.#exchange('GET', path, () => ({ headers: this.sign('GET', path, sha256Hex('')) }));
    if (!response.ok) return answer<never>(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  /**
   * A signed request whose body is raw bytes (PSI protocol messages), answering raw bytes. A body is
   * written from the caller's buffer through node:http: undici's fetch copies a typed-array body
   * before sending it (a second 320 MB for a 10M-element message). Never retried: a PSI message read
   * from the relay is gone from it, and one posted may already have been taken.
   */
  async sendBytes(method: string, path: string, body?: Uint8Array): Promise<Uint8Array> {
    if (body?.length) {
      const [status, statusText, answered] = await this.#upload(method, path, sha256Hex(body), (request) =>
        finished(request.end(body)),
      );
      if (status < 200 || status > 299) parseAnswer<never>(status, statusText, answered.toString('utf8'));
      return answered;
    }
    const response = await this.#exchange(
      method,
      path,
      () => ({ headers: { ...this.sign(method, path, sha256Hex(new Uint8Array(0))) } }),
      false,
    );
    if (!response.ok) return answer<never>(response);
    return bodyBytes(response);
  }

  private sign(method: string, path: string, contentSha256: string): Record<string, string> {
    if (!this.signer) throw new Error('This request needs a principal key (--key).');
    return signRequest(this.signer, method, path, contentSha256);
  }
}

/**
 * A response body as bytes, read into one buffer of its declared length when it has one: a 320 MB
 * PSI message is then held once, not as undici's pieces plus their concatenation.
 */
async function bodyBytes(response: Response): Promise<Uint8Array> {
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  if (!Number.isSafeInteger(length) || length < 0 || response.body === null)
    return new Uint8Array(await response.arrayBuffer());
  const out = new Uint8Array(length);
  let offset = 0;
  for await (const piece of response.body as AsyncIterable<Uint8Array>) {
    if (offset + piece.length > length) throw new Error('The room sent more bytes than it declared.');
    out.set(piece, offset);
    offset += piece.length;
  }
  if (offset !== length) throw new Error('The room closed the connection before the whole message arrived.');
  return out;
}
