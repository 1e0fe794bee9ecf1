import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataEngine } from '../../src/store/data-engine.ts';
import { openScratchEngine } from '../support/scratch-engine.ts';

let scratch: Awaited<ReturnType<typeof openScratchEngine>>;
let engine: DataEngine;
beforeAll(async () => {
  scratch = await openScratchEngine('text');
  engine = scratch.engine;
});
afterAll(() => scratch.close());

describe('text read back from DuckDB', () => {
  it('keeps a byte order mark at the start of a value (the client library’s decoder dropped it)', async () => {
    const result = await engine.query("SELECT chr(65279) || 'x' AS a, 'x' AS b, (chr(65279) || 'x') = 'x' AS same");
    const [row] = result.rows;
    expect(row?.[0]).toBe('\uFEFFx');
    expect(row?.[1]).toBe('x');
    expect(row?.[2]).toBe(false);
  });
});
