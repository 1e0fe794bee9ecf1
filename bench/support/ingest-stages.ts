/** Stage names shared by the ingest runner (which times them) and bench/ingest.ts (which reads them). */
export const ONE_THREAD_PARSE = 'DuckDB: read_csv(file), engine options, 1 thread';
export const HTTP_PUT = 'HTTP: PUT of envelope bytes (node:http) → discarding server';
