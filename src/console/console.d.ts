/** The console page script's one export for tests: a reading layout of SQL that never changes a token. */
export function formatSql(sql: string): string;
