/**
 * Characters a terminal may act on instead of showing: C0 controls (ESC starts CSI and OSC
 * sequences that clear the screen, set the title or write the clipboard; BEL, CR, backspace
 * overwrite what was printed), DEL, C1 controls (0x9B is a one-byte CSI for some terminals), and
 * the Unicode bidi embeddings, overrides and isolates that reorder what a line appears to say.
 * `text` keeps newline and tab, for multi-line text (SQL, messages); `line` escapes them too, for a
 * value that must stay on its line (a table cell, a field), where a newline could forge a row.
 */
const UNSAFE = {
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  text: /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/gu,
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  line: /[\u0000-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/gu,
} as const;

/** Beyond JSON.stringify's own escapes (C0 only), what must not reach a terminal raw inside JSON. */
const UNSAFE_IN_JSON = /[\u007F-\u009F\u202A-\u202E\u2066-\u2069]/gu;

const hex = (char: string, digits: number) =>
  (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(digits, '0');

/** One escape so the reader sees that something was there: \x1B, \x07, \u202E. */
const visible = (char: string): string =>
  (char.codePointAt(0) ?? 0) <= 0xff ? `\\x${hex(char, 2)}` : `\\u${hex(char, 4)}`;

/**
 * Makes text that came from the room or a partner safe to print on a terminal: every character
 * in UNSAFE becomes a visible escape. Idempotent (an escaped text has nothing left to escape).
 */
export function escapeTerminal(text: string, context: 'line' | 'text' = 'line'): string {
  return text.replace(UNSAFE[context], visible);
}

/**
 * JSON for a terminal that is still exactly the same JSON: JSON.stringify escapes C0 controls
 * itself, and DEL, C1 and bidi controls (legal raw in JSON strings) become \u escapes, which
 * parse back to the same value.
 */
export function terminalJson(value: unknown, indent = 2): string {
  return (JSON.stringify(value, null, indent) ?? 'null').replace(
    UNSAFE_IN_JSON,
    (char) => `\\u${hex(char, 4).toLowerCase()}`,
  );
}
