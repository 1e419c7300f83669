/** A token bucket: `ratePerSec` sustained, `burst` at once. Pure: the caller supplies the clock. */
export class TokenBucket {
  private tokens: number;
  private updatedMs: number;

  constructor(private readonly ratePerSec: number, private readonly burst: number, nowMs: number) {
    this.tokens = burst;
    this.updatedMs = nowMs;
  }

  take(nowMs: number): boolean {
    // A clock that steps back (NTP) refills nothing, and the refill resumes from the latest
    // time seen, so the same span is never counted twice: the gift script's bucket does the same.
    const elapsedMs = Math.max(0, nowMs - this.updatedMs);
    this.tokens = Math.min(this.burst, this.tokens + (elapsedMs * this.ratePerSec) / 1000);
    this.updatedMs = Math.max(this.updatedMs, nowMs);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Returns a token taken for a request that turned out to use none (a replay), up to the burst. */
  giveBack(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }
}
