import { createHash, createHmac } from 'node:crypto';

/** Lowercase hex SHA-256. */
export const sha256Hex = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/**
 * JSON with object keys sorted at every level: the same document always hashes the same,
 * whatever order its author wrote the keys in.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The content hash of a JSON document: what officers sign and what the audit log records. */
export const contentHash = (value: unknown): string => sha256Hex(canonicalJson(value));

/** Streaming SHA-256 for bodies that never sit in memory whole. */
export const createSha256 = () => createHash('sha256');

/** HMAC-SHA-256 of `text` under `key`, hex. */
export const keyedHashHex = (key: Uint8Array, text: string): string =>
  createHmac('sha256', key).update(text).digest('hex');
