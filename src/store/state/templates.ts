import type { StateReader, StateTx } from '../state-db.ts';

/** Query templates and extract templates are stored alike, each kind in its own table (names do not clash). */
export type TemplateTable = 'templates' | 'extract_templates' | 'model_templates';

/** One proposed version of a template; a name's newest proposal is its current version. */
export interface StoredTemplate {
  readonly collaboration: string;
  readonly name: string;
  /** the content hash officers sign */
  readonly hash: string;
  /** the template document, as JSON text */
  readonly document: string;
  /** principal id, or "room" for the files in sql/ */
  readonly proposedBy: string;
  /** ISO 8601 UTC, written and read back (state-db returns timestamps as ISO text) */
  readonly proposedAt: string;
}

/** The newest proposal under a name (by proposal time), if any. */
export async function latestTemplate(
  db: StateReader,
  collaboration: string,
  name: string,
  table: TemplateTable = 'templates',
): Promise<StoredTemplate | undefined> {
  const [row] = await db.all(
    `SELECT * FROM ${table} WHERE collaboration = $1 AND name = $2 ORDER BY proposed_at DESC LIMIT 1`,
    [collaboration, name],
  );
  return row
    ? {
        collaboration: String(row.collaboration),
        name: String(row.name),
        hash: String(row.hash),
        document: String(row.document),
        proposedBy: String(row.proposed_by),
        proposedAt: String(row.proposed_at),
      }
    : undefined;
}

/** Every template name of a collaboration, once each, in name order. */
export async function templateNames(
  db: StateReader,
  collaboration: string,
  table: TemplateTable = 'templates',
): Promise<string[]> {
  return (
    await db.all(`SELECT DISTINCT name FROM ${table} WHERE collaboration = $1 ORDER BY name`, [collaboration])
  ).map((r) => String(r.name));
}

/**
 * Records a proposal unless its hash is already stored in the collaboration (the same content,
 * proposed again, keeps its first proposal and its reviews). Answers whether it was recorded.
 */
export async function recordTemplate(
  tx: StateTx,
  template: StoredTemplate,
  table: TemplateTable = 'templates',
): Promise<boolean> {
  const exists = await tx.all(`SELECT 1 FROM ${table} WHERE collaboration = $1 AND hash = $2`, [
    template.collaboration,
    template.hash,
  ]);
  if (exists.length > 0) return false;
  await tx.run(
    `INSERT INTO ${table} (collaboration, name, hash, document, proposed_by, proposed_at) VALUES ($1, $2, ` +
      '$3, $4, $5, $6)',
    [template.collaboration, template.name, template.hash, template.document, template.proposedBy, template.proposedAt],
  );
  return true;
}
