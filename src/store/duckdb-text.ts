import { createRequire } from 'node:module';

/**
 * @duckdb/node-api decodes every VARCHAR it reads with one default TextDecoder, and a default decoder
 * drops a byte order mark (U+FEFF) at the start of what it decodes: a released text value beginning
 * with one came out without it (so "\uFEFFx" and "x" were two groups with one label, and the ClickHouse
 * executor answered otherwise). The room reads text as stored: the library's decoder is replaced by
 * one that keeps the mark. Imported for its effect by the modules that read from DuckDB; the library
 * has no option for it (its accessor module exports the decoder it uses).
 */
const accessors = createRequire(import.meta.url)('@duckdb/node-api/lib/vectors/dataAccessors.js') as {
  textDecoder?: unknown;
};
if (accessors.textDecoder instanceof TextDecoder && !accessors.textDecoder.ignoreBOM) {
  accessors.textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
}
