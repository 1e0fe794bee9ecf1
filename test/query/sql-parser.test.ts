import { describe, expect, it } from 'vitest';
import { jsonSqlParser } from '../../src/query/sql-parser.ts';
import { double, selectNode, tableRef, type SqlNode } from '../../src/query/sql-tree.ts';

describe('rendering a tree', () => {
  it('refuses a SELECT without from_table before DuckDB sees it (it would crash the process)', async () => {
    const seen: string[] = [];
    const parser = jsonSqlParser({
      serialize: () => Promise.reject(new Error('not used')),
      deserialize: (json) => {
        seen.push(json);
        return Promise.resolve('SELECT 1');
      },
    });
    const fine = selectNode({ select: [double(1)], from: tableRef('t') });
    expect(await parser.render(fine)).toBe('SELECT 1');
    const { from_table: _from, ...bare } = fine;
    const nested = selectNode({ select: [double(1)], from: { type: 'SUBQUERY', subquery: { node: bare } } as SqlNode });
    await expect(parser.render(bare as SqlNode)).rejects.toThrow(/without from_table/);
    await expect(parser.render(nested)).rejects.toThrow(/without from_table/);
    expect(seen).toHaveLength(1);
  });
});
