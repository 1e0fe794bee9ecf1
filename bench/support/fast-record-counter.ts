const QUOTE = 0x22;
const NEWLINE = 0x0a;

/**
 * Same counting rule as src/upload/csv-records.ts CsvRecordCounter (a newline ends a record unless
 * inside quotes), but it looks for the next quote once per quoted stretch instead of once per
 * record: the original rescans to the end of the chunk for a quote on every line, which on a
 * quote-free 1 MiB chunk is ~8,000 scans of ~0.5 MiB. Used only to project the fix's effect.
 */
export class FastRecordCounter {
  private inQuotes = false;
  private newlines = 0;
  private lastByte = NEWLINE;
  private sawBytes = false;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.sawBytes = true;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    let at = 0;
    while (at < bytes.length) {
      if (this.inQuotes) {
        const close = bytes.indexOf(QUOTE, at);
        if (close < 0) break;
        this.inQuotes = false;
        at = close + 1;
        continue;
      }
      const quote = bytes.indexOf(QUOTE, at);
      const end = quote < 0 ? bytes.length : quote;
      for (let newline = bytes.indexOf(NEWLINE, at); newline >= 0 && newline < end; newline = bytes.indexOf(NEWLINE, newline + 1)) this.newlines += 1;
      if (quote < 0) break;
      this.inQuotes = true;
      at = quote + 1;
    }
    this.lastByte = bytes[bytes.length - 1] as number;
  }

  get dataRecords(): number {
    if (!this.sawBytes) return 0;
    const lines = this.newlines + (this.lastByte === NEWLINE ? 0 : 1);
    return Math.max(0, lines - 1);
  }
}
