/** Pieces below this size are copied together (see `accept`); network reads are usually ~64 KB. */
const SMALL_PIECE = 16 * 1024;
const GATHER_BYTES = 64 * 1024;

/**
 * Reads exact byte counts from a stream of arbitrarily sized pieces, without concatenating the
 * whole stream: the envelope reader's framing needs "the next n bytes", the network gives whatever
 * it has.
 */
export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private pieces: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  private gathering: Uint8Array | undefined;
  private gathered = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Exactly `n` bytes, or fewer only if the stream ended first. */
  async read(n: number): Promise<Uint8Array> {
    await this.fill(n);
    return this.take(Math.min(n, this.buffered));
  }

  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) this.ended = true;
      else this.accept(next.value);
    }
    this.sealGathered();
  }

  /**
   * Keeps large pieces as they are and copies small ones together into 64 KiB buffers: a sender
   * trickling one byte per TCP segment would otherwise make every consumer (decryption, hashing,
   * writev) work per byte, and the piece list grow to a million entries per chunk.
   */
  private accept(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.buffered += piece.length;
    if (piece.length >= SMALL_PIECE) {
      this.sealGathered();
      this.pieces.push(piece);
      return;
    }
    if (this.gathering === undefined || this.gathered + piece.length > this.gathering.length) {
      this.sealGathered();
      this.gathering = new Uint8Array(GATHER_BYTES);
    }
    this.gathering.set(piece, this.gathered);
    this.gathered += piece.length;
  }

  private sealGathered(): void {
    if (this.gathering !== undefined && this.gathered > 0) this.pieces.push(this.gathering.subarray(0, this.gathered));
    this.gathering = undefined;
    this.gathered = 0;
  }

  /**
   * Exactly `n` bytes (fewer only if the stream ended first) as views of the pieces they arrived
   * in: for large frames whose consumer works piece by piece, this avoids copying them together.
   */
  async readPieces(n: number): Promise<Uint8Array[]> {
    await this.fill(n);
    const out: Uint8Array[] = [];
    let wanted = Math.min(n, this.buffered);
    this.buffered -= wanted;
    while (wanted > 0) {
      const piece = this.pieces[0] as Uint8Array;
      if (piece.length <= wanted) {
        out.push(piece);
        this.pieces.shift();
        wanted -= piece.length;
      } else {
        out.push(piece.subarray(0, wanted));
        this.pieces[0] = piece.subarray(wanted);
        wanted = 0;
      }
    }
    return out;
  }

  /** True when nothing is buffered and the stream has ended. */
  async atEnd(): Promise<boolean> {
    if (this.buffered > 0) return false;
    await this.read(0);
    if (this.buffered > 0 || this.ended) return this.buffered === 0;
    const next = await this.iterator.next();
    if (next.done) {
      this.ended = true;
      return true;
    }
    this.accept(next.value);
    this.sealGathered();
    return next.value.length === 0 ? this.atEnd() : false;
  }

  private take(n: number): Uint8Array {
    const first = this.pieces[0];
    if (first && first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.pieces.shift();
      else this.pieces[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.pieces[0] as Uint8Array;
      const used = Math.min(piece.length, n - filled);
      out.set(piece.subarray(0, used), filled);
      filled += used;
      if (used === piece.length) this.pieces.shift();
      else this.pieces[0] = piece.subarray(used);
    }
    this.buffered -= n;
    return out;
  }
}
