import { UnprocessableError } from '../errors/cleanroom-error.ts';

const MAX_HEADER_BYTES = 64 * 1024;

/** Splits a CSV header line into names (quoted names allowed; a header holds no data). */
export function parseHeaderLine(line: string): string[] {
  const names: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        current += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      names.push(current);
      current = '';
    } else current += ch;
  }
  names.push(current);
  return names.map((n) => n.replace(/\r$/, '').trim());
}

/**
 * Watches the first line of a CSV stream and refuses it unless the column names are exactly the
 * declared ones, in order: DuckDB given explicit columns would otherwise load a file whose columns
 * were swapped.
 */
export class CsvHeaderGate {
  private buffered = '';
  private checked = false;
  // Streaming, so a multi-byte character (or the BOM) split across network pieces decodes whole.
  private readonly decoder = new TextDecoder('utf-8');

  constructor(private readonly expected: readonly string[]) {}

  push(chunk: Uint8Array): void {
    if (this.checked) return;
    this.buffered += this.decoder.decode(chunk, { stream: true });
    const end = this.buffered.indexOf('\n');
    if (end < 0) {
      if (this.buffered.length > MAX_HEADER_BYTES) this.refuse(['(no header line within 64 KiB)']);
      return;
    }
    this.check(this.buffered.slice(0, end));
  }

  /** Called at the end of the stream, for a file that is only a header without a newline. */
  finish(): void {
    if (!this.checked) this.check(this.buffered + this.decoder.decode());
  }

  private check(line: string): void {
    this.checked = true;
    const found = parseHeaderLine(line.replace(/^\uFEFF/, ''));
    this.buffered = '';
    if (found.length !== this.expected.length || found.some((name, i) => name !== this.expected[i])) this.refuse(found);
  }

  private refuse(found: readonly string[]): never {
    this.checked = true;
    throw new UnprocessableError(
      'UPLOAD_SCHEMA_MISMATCH',
      "The CSV header does not list the dataset's declared columns in order.",
      {
        expected: this.expected,
        found: found.slice(0, 100).map((n) => n.slice(0, 64)),
      },
    );
  }
}
