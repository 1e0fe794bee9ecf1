/** The console page script's one export for tests: a reading layout of SQL that never changes a token. */
export function formatSql(sql: string): string;
/** Text with invisible and direction-changing characters shown as \\u{…} escapes. */
export function visible(text: string): string;
