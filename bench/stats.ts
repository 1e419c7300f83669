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

/** Cumulative bucket counts of a Prometheus histogram in exposition text: upper bound (s) -> count. */
export function histogramBuckets(metricsText: string, name: string): Map<string, number> {
  const buckets = new Map<string, number>();
  const line = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
  for (const [, le, count] of metricsText.matchAll(line)) buckets.set(le ?? '', Number(count));
  return buckets;
}

/** A Prometheus counter's total over all its label sets, in exposition text (0 when absent). */
export function counterTotal(metricsText: string, name: string): number {
  const line = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  let total = 0;
  for (const [, value] of metricsText.matchAll(line)) total += Number(value);
  return total;
}

/**
 * A quantile of what a histogram counted between two scrapes, as the upper bound of the
 * bucket it falls in, in ms: "at most this". null when it is past the last finite bound,
 * undefined when nothing was counted.
 */
export function bucketQuantileMs(before: Map<string, number>, after: Map<string, number>, q: number): number | null | undefined {
  const bound = (le: string) => (le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le));
  const bounds = [...after.keys()].sort((a, b) => bound(a) - bound(b));
  const counted = (le: string) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = counted('+Inf');
  if (total <= 0) return undefined;
  const le = bounds.find((b) => counted(b) >= q * total);
  return le === undefined || le === '+Inf' ? null : Math.round(bound(le) * 1000 * 100) / 100;
}

/**
 * The median element by a measure; of an even count, the lower of the two middle ones,
 * so a single fast round never decides. Throws on an empty list.
 */
export function medianBy<T>(items: readonly T[], measure: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => measure(a) - measure(b));
  const median = sorted[Math.ceil(sorted.length / 2) - 1];
  if (median === undefined) throw new Error('no items to take a median of');
  return median;
}
