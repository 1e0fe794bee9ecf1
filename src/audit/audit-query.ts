import type { AuditEntry } from './audit-entry.ts';

/** A reader's filter over one chain (every field optional; strings match exactly, times are ISO 8601). */
export interface AuditQuery {
  readonly actor?: string;
  readonly action?: string;
  /** entries whose details name the dataset (`dataset`, or one of `datasets`) */
  readonly dataset?: string;
  /** at or after (an ISO date or date-time, UTC) */
  readonly since?: string;
  /** before (an ISO date means the end of that day) */
  readonly until?: string;
  readonly offset?: number;
  readonly limit?: number;
}

export const AUDIT_PAGE_MAX = 500;

/** A UTC date, or a date and time to the minute, second or millisecond (Z optional: always UTC). */
const MOMENT = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,3})?)?Z?)?$';

/**
 * The moments of a query that name no real instant (2024-02-31, 25:00): Date.parse would roll them
 * over to another day or give NaN, and a filter on them would quietly match the wrong entries.
 */
export function impossibleMoments(query: { since?: string; until?: string }): ('since' | 'until')[] {
  return (['since', 'until'] as const).filter((name) => {
    const text = query[name];
    if (text === undefined) return false;
    const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text.endsWith('Z') ? text : `${text}Z`);
    if (Number.isNaN(ms)) return true;
    const iso = new Date(ms).toISOString();
    return iso.slice(0, 10) !== text.slice(0, 10) || (text.length > 10 && iso.slice(11, 16) !== text.slice(11, 16));
  });
}

/** The JSON Schema of the query string the audit route accepts (all values arrive as strings). */
export const AUDIT_QUERY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    actor: { type: 'string', minLength: 1, maxLength: 200 },
    action: { type: 'string', minLength: 1, maxLength: 100 },
    dataset: { type: 'string', minLength: 1, maxLength: 100 },
    since: { type: 'string', pattern: MOMENT },
    until: { type: 'string', pattern: MOMENT },
    offset: { type: 'string', pattern: '^\\d{1,9}$' },
    limit: { type: 'string', pattern: '^[1-9]\\d{0,2}$' },
  },
} as const;

const datasetsOf = (entry: AuditEntry): string[] => {
  const { dataset, datasets } = entry.details as { dataset?: unknown; datasets?: unknown };
  return [
    ...(typeof dataset === 'string' ? [dataset] : []),
    ...(Array.isArray(datasets) ? datasets.filter((d): d is string => typeof d === 'string') : []),
  ];
};

/** A date alone is a whole UTC day: `since` from its start, `until` through its end. */
const instant = (text: string, endOfDay: boolean): number =>
  Date.parse(text.length === 10 ? `${text}T00:00:00.000Z` : text.endsWith('Z') ? text : `${text}Z`) +
  (endOfDay && text.length === 10 ? 86_400_000 : 0);

/**
 * The entries a query selects, newest first, one page of them, and how many matched in all. The
 * page is for reading; the export that verifies is the whole chain in order.
 */
export function selectAuditEntries(
  entries: readonly AuditEntry[],
  query: AuditQuery,
): { entries: AuditEntry[]; total: number; offset: number; limit: number } {
  const since = query.since ? instant(query.since, false) : -Infinity;
  const until = query.until ? instant(query.until, true) : Infinity;
  const matching = entries
    .filter(
      (e) =>
        (!query.actor || e.actor === query.actor) &&
        (!query.action || e.action === query.action) &&
        (!query.dataset || datasetsOf(e).includes(query.dataset)) &&
        Date.parse(e.at) >= since &&
        Date.parse(e.at) < until,
    )
    .sort((a, b) => b.seq - a.seq);
  const offset = query.offset ?? 0;
  const limit = Math.min(query.limit ?? 50, AUDIT_PAGE_MAX);
  return { entries: matching.slice(offset, offset + limit), total: matching.length, offset, limit };
}
