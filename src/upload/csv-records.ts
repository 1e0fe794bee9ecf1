const QUOTE = 0x22;
const NEWLINE = 0x0a;
const RETURN = 0x0d;
const COMMA = 0x2c;

/**
 * Counts CSV records in a byte stream exactly as the room's DuckDB `read_csv` (header, strict mode,
 * explicit columns) loads them, without parsing fields, so the signed manifest's row count matches
 * what the room loads (a mismatch reads like tampering). Tested against DuckDB itself:
 * - a record ends at LF, CRLF or a lone CR outside quotes; a newline inside quotes is data;
 * - with two or more columns an empty line (a trailing blank line too) is skipped;
 * - with one column an empty line is a record (a NULL); only the last line's terminator ends nothing;
 * - a last record without a terminator counts.
 * It finds LFs with one indexOf per line between quotes and CRs, which keeps it near memory speed
 * (searching per byte, or for a quote once per line, was far slower on large files).
 */
export class CsvRecordCounter {
  private inQuotes = false;
  /** lines ended so far that DuckDB reads as records, the header line included */
  private records = 0;
  private lineHasContent = false;
  /** the previous byte was a CR that ended a line: an LF right after it is the same terminator */
  private afterReturn = false;
  private inHeader = true;
  private headerCommas = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let at = this.inHeader ? this.pushHeader(bytes) : 0;
    const end = bytes.length;
    // DuckDB skips an empty line when a record needs several fields; with one field it is a NULL.
    const emptyLineIsRecord = this.headerCommas === 0;
    // Locals, written back once: this loop runs once per line of a multi-GB file.
    let { inQuotes, records, lineHasContent, afterReturn } = this;
    let quote = -1;
    let ret = -1;
    while (at < end) {
      if (inQuotes) {
        const close = bytes.indexOf(QUOTE, at);
        if (close < 0) break;
        inQuotes = false;
        at = close + 1;
        continue;
      }
      if (quote < at) quote = bytes.indexOf(QUOTE, at);
      if (quote < 0) quote = end;
      if (ret < at) ret = bytes.indexOf(RETURN, at);
      if (ret < 0) ret = end;
      // LF-terminated lines up to the next quote or CR: the common case, one indexOf per line.
      const stop = quote < ret ? quote : ret;
      for (
        let newline = bytes.indexOf(NEWLINE, at);
        newline >= 0 && newline < stop;
        newline = bytes.indexOf(NEWLINE, at)
      ) {
        if (newline > at) lineHasContent = true;
        if (!(afterReturn && newline === at)) {
          if (lineHasContent || emptyLineIsRecord) records += 1;
          lineHasContent = false;
        }
        afterReturn = false;
        at = newline + 1;
      }
      if (stop > at) {
        lineHasContent = true;
        afterReturn = false;
      }
      if (stop === end) break;
      if (stop === quote) {
        lineHasContent = true;
        inQuotes = true;
        afterReturn = false;
      } else {
        if (lineHasContent || emptyLineIsRecord) records += 1;
        lineHasContent = false;
        afterReturn = true;
      }
      at = stop + 1;
    }
    Object.assign(this, { inQuotes, records, lineHasContent, afterReturn });
  }

  /** Data records, excluding the header line; a final record without a newline counts. */
  get dataRecords(): number {
    return Math.max(0, this.records + (this.lineHasContent ? 1 : 0) - 1);
  }

  /** The header line, byte by byte (it is short): its field count decides how empty lines count. */
  private pushHeader(bytes: Buffer): number {
    for (let at = 0; at < bytes.length; at++) {
      const byte = bytes[at] as number;
      if (byte === QUOTE) this.inQuotes = !this.inQuotes;
      if (this.inQuotes) {
        this.lineHasContent = true;
        continue;
      }
      if (byte === NEWLINE || byte === RETURN) {
        if (this.lineHasContent) this.records += 1;
        this.lineHasContent = false;
        this.inHeader = false;
        this.afterReturn = byte === RETURN;
        return at + 1;
      }
      if (byte === COMMA) this.headerCommas += 1;
      this.lineHasContent = true;
    }
    return bytes.length;
  }
}
