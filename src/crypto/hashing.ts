import { createHash, createHmac } from 'node:crypto';
import canonicalize from 'canonicalize';

/** Lowercase hex SHA-256. */
export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/**
 * RFC 8785 (JSON Canonicalization Scheme) through `canonicalize`: keys sorted by UTF-16 code units at
 * every level, numbers as ECMAScript prints them, strings escaped as JSON.stringify does; undefined
 * members dropped. Any language with a JCS library reproduces the bytes, so an officer's tool can
 * recompute a hash it signs (README: "Hashes an officer signs", with a test vector). Lone surrogates,
 * NaN and Infinity have no canonical form: they throw (request bodies are refused at the boundary
 * first, see firstIllFormedString).
 */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('canonicalJson: the value has no JSON form');
  return text;
}

/**
 * The JSON pointer of the first string (key or value) that is not well-formed UTF-16 (a lone
 * surrogate), which JSON text may carry as an escape but no canonical form or hash can hold.
 */
/** A lone high or low surrogate: what String.prototype.isWellFormed (ES2024, Node 20) looks for. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = (text: string): boolean => !LONE_SURROGATE.test(text);

export function firstIllFormedString(value: unknown, pointer = ''): string | undefined {
  if (typeof value === 'string') return wellFormed(value) ? undefined : pointer || '/';
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const at = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
    if (!wellFormed(key)) return at;
    const found = firstIllFormedString(child, at);
    if (found) return found;
  }
  return undefined;
}

/** The content hash of a JSON document: what officers sign and what the audit log records. */
export const contentHash = (value: unknown): string => sha256Hex(canonicalJson(value));

/** Streaming SHA-256 for bodies that never sit in memory whole. */
export const createSha256 = () => createHash('sha256');

/** HMAC-SHA-256 of `text` under `key`, hex. */
export const keyedHashHex = (key: Uint8Array, text: string): string =>
  createHmac('sha256', key).update(text).digest('hex');
