import { STREAMED_ENVELOPE, signRequest, type RequestSigner } from '../auth/request-signature.ts';
import { sha256Hex } from '../crypto/hashing.ts';

/** An error answer from the room, with its code and details intact for the caller to show. */
export class RoomRequestError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown>) {
    super(message);
    this.name = 'RoomRequestError';
  }
}

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
    throw new RoomRequestError(response.status, error?.code ?? `HTTP_${response.status}`, error?.message ?? (text.slice(0, 200) || response.statusText), error?.details ?? {});
  }
  return parsed as T;
}

/** Talks to a room over HTTP, signing every request with one principal's key. */
export class RoomClient {
  constructor(readonly baseUrl: string, private readonly signer?: RequestSigner) {}

  /** An unsigned GET (health, room keys). */
  async getPublic<T>(path: string): Promise<T> {
    return answer<T>(await fetch(new URL(path, this.baseUrl)));
  }

  /** A signed JSON request. */
  async send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = { ...this.sign(method, path, sha256Hex(text)) };
    if (text) headers['content-type'] = 'application/json';
    return answer<T>(await fetch(new URL(path, this.baseUrl), { method, headers, body: text || undefined }));
  }

  /** A signed streamed upload of envelope bytes. */
  async stream<T>(method: string, path: string, body: ReadableStream<Uint8Array>): Promise<T> {
    const headers = { ...this.sign(method, path, STREAMED_ENVELOPE), 'content-type': 'application/octet-stream' };
    return answer<T>(await fetch(new URL(path, this.baseUrl), { method, headers, body, duplex: 'half' } as RequestInit));
  }

  /** A signed request whose body is raw bytes (PSI protocol messages), answering raw bytes. */
  async sendBytes(method: string, path: string, body?: Uint8Array): Promise<Uint8Array> {
    const bytes = body ?? new Uint8Array(0);
    const headers = { ...this.sign(method, path, sha256Hex(bytes)), 'content-type': 'application/octet-stream' };
    const response = await fetch(new URL(path, this.baseUrl), { method, headers, body: bytes.length ? bytes : undefined });
    if (!response.ok) return answer<never>(response);
    return new Uint8Array(await response.arrayBuffer());
  }

  private sign(method: string, path: string, contentSha256: string): Record<string, string> {
    if (!this.signer) throw new Error('This request needs a principal key (--key).');
    return signRequest(this.signer, method, path, contentSha256);
  }
}
