import { escapeTerminal, terminalJson } from './escape-terminal.ts';

interface WireDiagnostic {
  readonly code?: unknown;
  readonly message?: unknown;
  readonly rule?: unknown;
  readonly position?: { readonly line?: unknown; readonly column?: unknown };
  readonly data?: { readonly pointer?: unknown };
}

/**
 * A refusal's details for a terminal: one line per diagnostic (where, code, sentence, rule),
 * then any other details as JSON. Every text came from the room and may echo names another
 * member chose, so each is escaped.
 */
export function describeRefusalDetails(details: Readonly<Record<string, unknown>>): string {
  const { diagnostics, ...rest } = details;
  const lines = Array.isArray(diagnostics) ? (diagnostics as WireDiagnostic[]).map(line) : [];
  if (Object.keys(rest).length > 0) lines.push(terminalJson(rest));
  return lines.map((l) => `${l}\n`).join('');
}

function line(d: WireDiagnostic): string {
  const where =
    d.position && typeof d.position.line === 'number'
      ? `line ${d.position.line}:${String(d.position.column)} `
      : typeof d.data?.pointer === 'string'
        ? `${d.data.pointer} `
        : '';
  const rule = typeof d.rule === 'string' ? ` [rule: ${d.rule}]` : '';
  return escapeTerminal(`  ${where}${String(d.code)}: ${String(d.message)}${rule}`);
}
