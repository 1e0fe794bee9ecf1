import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChdbEndpoint, type ChdbEndpoint } from '../support/chdb-endpoint.ts';

let endpoint: ChdbEndpoint;
let client: ClickHouseClient;
beforeAll(async () => {
  endpoint = await startChdbEndpoint();
  // The refusals below are expected: the client's own error log would only repeat them.
  client = createClient({ url: endpoint.url, log: { level: ClickHouseLogLevel.OFF } });
});
afterAll(async () => {
  await client.close();
  await endpoint.close();
});

describe('the chdb test endpoint, through @clickhouse/client unmodified', () => {
  it('answers ping, creates, inserts and reads back typed rows', async () => {
    expect((await client.ping()).success).toBe(true);
    await client.command({ query: 'CREATE TABLE t (id UInt32, name Nullable(String)) ENGINE = MergeTree ORDER BY id' });
    await client.insert({
      table: 't',
      values: [
        { id: 2, name: 'b' },
        { id: 1, name: null },
      ],
      format: 'JSONEachRow',
    });
    const rows = await (
      await client.query({ query: 'SELECT id, name FROM t ORDER BY id', format: 'JSONEachRow' })
    ).json();
    expect(rows).toEqual([
      { id: 1, name: null },
      { id: 2, name: 'b' },
    ]);
  });

  it('binds query parameters on the server and applies settings per query', async () => {
    const rows = await (
      await client.query({
        query: "SELECT {n:Int64} * 2 AS twice, {s:String} AS s, getSetting('max_threads') AS threads",
        query_params: { n: 21, s: "it's\\a\ttab" },
        clickhouse_settings: { max_threads: 1 },
        format: 'JSONEachRow',
      })
    ).json();
    expect(rows).toEqual([{ twice: 42, s: "it's\\a\ttab", threads: 1 }]);
  });

  it('refuses a write under readonly and answers an engine error as the server does (code and text)', async () => {
    await expect(
      client.command({ query: 'DROP TABLE t', clickhouse_settings: { readonly: '1' } }),
    ).rejects.toMatchObject({ code: '164' });
    await expect(client.query({ query: 'SELECT no_such_column FROM t' })).rejects.toMatchObject({ code: '47' });
    // The query after a failure answers for itself (chdb's session had repeated the last error).
    const next = await client.query({ query: 'SELECT 41 + 1 AS x', format: 'JSONEachRow' });
    expect(await next.json()).toEqual([{ x: 42 }]);
  });
});
