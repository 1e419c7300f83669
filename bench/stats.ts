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

/**
 * Cumulative bucket counts of a Prometheus histogram in exposition text: upper bound (s) ->
 * count, summed over its series; with `label` (`operation="gift"`), over those that carry it.
 */
export function histogramBuckets(metricsText: string, name: string, label?: string): Map<string, number> {
  const buckets = new Map<string, number>();
  const line = new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const [, labels = '', count] of metricsText.matchAll(line)) {
    const le = /(?:^|,)le="([^"]+)"/.exec(labels)?.[1];
    if (le === undefined || (label !== undefined && !labels.split(',').includes(label))) continue;
    buckets.set(le, (buckets.get(le) ?? 0) + Number(count));
  }
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

/** A window's whole seconds: how many, and in each, the count and the largest latency. */
export interface PerSecond {
  counts: number[];
  maxMs: number[];
}

/**
 * Counts and latency maxima per whole second of a measured window, from its start: one
 * rate for the window hides a rate that sagged or stalled within it, and on a host whose
 * speed drifts that is the first question. A part second at the end is left out (its
 * count would read as a slow second), as is anything before the start or after the end.
 */
export class Timeline {
  private readonly perSecond: PerSecond;

  constructor(private readonly startMs: number, windowMs: number) {
    const seconds = Math.max(0, Math.floor(windowMs / 1000));
    this.perSecond = { counts: new Array<number>(seconds).fill(0), maxMs: new Array<number>(seconds).fill(0) };
  }

  add(atMs: number, latencyMs: number): void {
    const second = Math.floor((atMs - this.startMs) / 1000);
    if (second < 0 || second >= this.perSecond.counts.length) return;
    this.perSecond.counts[second] = (this.perSecond.counts[second] ?? 0) + 1;
    if (latencyMs > (this.perSecond.maxMs[second] ?? 0)) this.perSecond.maxMs[second] = Math.round(latencyMs * 100) / 100;
  }

  toJSON(): PerSecond {
    return this.perSecond;
  }
}

/** Load generators' timelines as one: counts added, maxima taken, second by second from the same start. */
export function mergePerSecond(parts: readonly PerSecond[]): PerSecond {
  const seconds = Math.max(0, ...parts.map((p) => p.counts.length));
  const merged: PerSecond = { counts: new Array<number>(seconds).fill(0), maxMs: new Array<number>(seconds).fill(0) };
  for (const part of parts) {
    part.counts.forEach((count, i) => { merged.counts[i] = (merged.counts[i] ?? 0) + count; });
    part.maxMs.forEach((max, i) => { merged.maxMs[i] = Math.max(merged.maxMs[i] ?? 0, max); });
  }
  return merged;
}
