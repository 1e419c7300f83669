import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bucketQuantileMs, counterTotal, histogramBuckets, medianBy, mergePerSecond, Timeline } from '../../bench/stats.js';

const stats = suite('bench statistics');

const scrape = (counts: number[]) => [
  '# HELP gift_latency_seconds time from gift:send received to ack sent',
  '# TYPE gift_latency_seconds histogram',
  ...['0.001', '0.005', '0.05', '1', '+Inf'].map((le, i) => `gift_latency_seconds_bucket{le="${le}"} ${counts[i]}`),
  `gift_latency_seconds_sum 1.5`, `gift_latency_seconds_count ${counts[4]}`,
  'other_metric_bucket{le="0.001"} 99',
].join('\n');

stats('histogramBuckets reads the cumulative buckets of one histogram only', () => {
  assert.equal([...histogramBuckets(scrape([1, 2, 3, 4, 5]), 'gift_latency_seconds')],
    [['0.001', 1], ['0.005', 2], ['0.05', 3], ['1', 4], ['+Inf', 5]]);
  assert.is(histogramBuckets('', 'gift_latency_seconds').size, 0);
});

stats('histogramBuckets sums a labelled histogram\'s series, or takes those with one label', () => {
  const text = [
    'wallet_store_seconds_bucket{le="0.001",operation="gift"} 7', 'wallet_store_seconds_bucket{le="+Inf",operation="gift"} 9',
    'wallet_store_seconds_bucket{le="0.001",operation="gift_replay"} 1', 'wallet_store_seconds_bucket{le="+Inf",operation="gift_replay"} 2',
    'wallet_store_seconds_bucket{operation="entry",le="0.001"} 3', 'wallet_store_seconds_bucket{operation="entry",le="+Inf"} 3',
    'wallet_store_seconds_count{operation="gift"} 9',
  ].join('\n');
  assert.equal([...histogramBuckets(text, 'wallet_store_seconds', 'operation="gift"')], [['0.001', 7], ['+Inf', 9]]);
  assert.equal([...histogramBuckets(text, 'wallet_store_seconds', 'operation="entry"')], [['0.001', 3], ['+Inf', 3]]);
  assert.equal([...histogramBuckets(text, 'wallet_store_seconds')], [['0.001', 11], ['+Inf', 14]]);
  assert.is(histogramBuckets(text, 'wallet_store_seconds', 'operation="freeze"').size, 0);
});

stats('bucketQuantileMs counts only what happened between the scrapes, as a bucket bound in ms', () => {
  const before = histogramBuckets(scrape([100, 100, 100, 100, 100]), 'gift_latency_seconds');
  // Since then: 50 at most 1 ms, 45 more at most 5 ms, 4 more at most 50 ms, 1 past 1 s.
  const after = histogramBuckets(scrape([150, 195, 199, 199, 200]), 'gift_latency_seconds');
  assert.is(bucketQuantileMs(before, after, 0.5), 1);
  assert.is(bucketQuantileMs(before, after, 0.9), 5);
  assert.is(bucketQuantileMs(before, after, 0.99), 50);
  assert.is(bucketQuantileMs(before, after, 1), null);
});

stats('bucketQuantileMs is undefined when nothing was counted', () => {
  const same = histogramBuckets(scrape([1, 2, 3, 4, 5]), 'gift_latency_seconds');
  assert.is(bucketQuantileMs(same, same, 0.5), undefined);
  assert.is(bucketQuantileMs(new Map(), new Map(), 0.5), undefined);
});

stats('counterTotal sums a counter over its label sets and reads no other metric', () => {
  const text = [
    '# HELP room_frames_total room events written to members',
    '# TYPE room_frames_total counter',
    'room_frames_total{event="giftColumns"} 1200',
    'room_frames_total{event="leaderboard"} 34',
    'room_frames_total_created{event="giftColumns"} 1764000000',
    'other_room_frames_total 7',
    'gifts_total{outcome="ok"} 5',
  ].join('\n');
  assert.is(counterTotal(text, 'room_frames_total'), 1234);
  assert.is(counterTotal('gifts_total 5\n', 'gifts_total'), 5);
  assert.is(counterTotal('', 'room_frames_total'), 0);
});

stats('medianBy takes the middle element by the measure; of an even count, the lower middle one', () => {
  const rate = (r: { rate: number }) => r.rate;
  assert.equal(medianBy([{ rate: 3 }], rate), { rate: 3 });
  assert.equal(medianBy([{ rate: 9 }, { rate: 1 }, { rate: 5 }], rate), { rate: 5 });
  assert.equal(medianBy([{ rate: 9 }, { rate: 1 }, { rate: 5 }, { rate: 7 }], rate), { rate: 5 });
  assert.equal(medianBy([{ rate: 4 }, { rate: 2 }], rate), { rate: 2 });
  assert.throws(() => medianBy([], rate));
});

stats('a timeline counts each whole second of the window and its slowest latency; a part second and anything outside are left out', () => {
  const timeline = new Timeline(10_000, 3_500);
  for (const [at, ms] of [[9_999, 1], [10_000, 5], [10_999, 7.126], [11_000, 2], [12_999, 40], [13_000, 99], [13_499, 99], [20_000, 99]] as const) {
    timeline.add(at, ms);
  }
  assert.equal(timeline.toJSON(), { counts: [2, 1, 1], maxMs: [7.13, 2, 40] });
  assert.equal(new Timeline(0, 900).toJSON(), { counts: [], maxMs: [] });
});

stats('timelines of several load generators merge second by second: counts added, maxima taken', () => {
  assert.equal(mergePerSecond([{ counts: [1, 2], maxMs: [5, 1] }, { counts: [10, 20, 30], maxMs: [1, 9, 3] }]),
    { counts: [11, 22, 30], maxMs: [5, 9, 3] });
  assert.equal(mergePerSecond([]), { counts: [], maxMs: [] });
});

stats.run();
