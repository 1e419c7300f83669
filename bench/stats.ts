/** Latency samples with a bound: past it, reservoir sampling keeps a fair subset. */
export class Samples {
  private readonly values: number[] = [];
  private seen = 0;
  max = 0;

  constructor(private readonly capacity = 200_000) {}

  add(value: number): void {
    this.seen += 1;
    if (value > this.max) this.max = value;
    if (this.values.length < this.capacity) {
      this.values.push(value);
      return;
    }
    const slot = Math.floor(Math.random() * this.seen);
    if (slot < this.capacity) this.values[slot] = value;
  }

  get count(): number {
    return this.seen;
  }

  toArray(): number[] {
    return this.values;
  }
}

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function percentiles(values: readonly number[], max?: number): Percentiles {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const round = (v: number) => Math.round(v * 100) / 100;
  return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(max ?? sorted[sorted.length - 1] ?? 0) };
}
