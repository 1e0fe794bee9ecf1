import { readFileSync } from 'node:fs';
import type { TableShape } from '../../src/upload/decrypt-into-engine.ts';

interface DeclaredDataset {
  name: string;
  columns: { name: string; type: string }[];
}

/** The declared columns of a demo dataset, read from policies/demo.json (the policy the room runs). */
export function demoShape(dataset: string): TableShape {
  const policy = JSON.parse(readFileSync('policies/demo.json', 'utf8')) as { datasets: DeclaredDataset[] };
  const found = policy.datasets.find((d) => d.name === dataset);
  if (!found) throw new Error(`policies/demo.json declares no dataset ${dataset}.`);
  return { schema: 'demo', table: dataset, columns: found.columns.map((c) => ({ name: c.name, type: c.type })) };
}

const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** `columns = {...}` with the declared types, as DuckDB's read_csv takes it. */
export const columnsArgument = (shape: TableShape): string =>
  `columns = {${shape.columns.map((c) => `${literal(c.name)}: ${literal(c.type)}`).join(', ')}}`;

/** Plain DuckDB ingest, the baseline the brief names: header and declared types only. */
export const plainReadCsv = (file: string, shape: TableShape): string =>
  `SELECT * FROM read_csv(${literal(file)}, header = true, ${columnsArgument(shape)})`;

/** The same read_csv options DataEngine.loadIncoming uses, to separate option cost from pipe cost. */
export const engineReadCsv = (file: string, shape: TableShape): string =>
  `SELECT * FROM read_csv(${literal(file)}, header = true, auto_detect = false, strict_mode = true, ` +
  `delim = ',', quote = '"', escape = '"', null_padding = false, dateformat = '%Y-%m-%d', ${columnsArgument(shape)})`;
