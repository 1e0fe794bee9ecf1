/**
 * Nonces seen within the freshness window. An entry can be forgotten once its timestamp is too old
 * to pass the freshness check anyway, so memory stays bounded by the request rate × window.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  private lastSweep = 0;

  constructor(private readonly windowMs: number) {}

  /** Records the nonce; false if it was already used. */
  remember(nonce: string, now: number): boolean {
    this.sweep(now);
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, now + 2 * this.windowMs);
    return true;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < this.windowMs / 4) return;
    this.lastSweep = now;
    for (const [nonce, expiry] of this.seen) if (expiry < now) this.seen.delete(nonce);
  }
}
