import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { repeatAfterEach } from '../../server/repeat.js';

const repeat = suite('periodic tasks');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

repeat('a run slower than the period is never joined by the next; the delay follows the last run\'s length', async () => {
  let running = 0;
  let mostAtOnce = 0;
  const starts: number[] = [];
  const delaysAsked: number[] = [];
  const repeating = repeatAfterEach(async () => {
    running += 1;
    mostAtOnce = Math.max(mostAtOnce, running);
    starts.push(Date.now());
    await sleep(60); // six periods long
    running -= 1;
  }, (lastRunMs) => {
    delaysAsked.push(lastRunMs);
    return Math.max(10, lastRunMs / 2);
  });
  for (let waited = 0; starts.length < 4 && waited < 10_000; waited += 20) await sleep(20);
  repeating.stop();
  assert.is(mostAtOnce, 1, 'one run at a time');
  assert.ok(starts.length >= 4, `${starts.length} runs`);
  assert.is(delaysAsked[0], 0, 'the first run waits as long as a run of no length asks');
  assert.ok(delaysAsked.slice(1).every((ms) => ms >= 55), `each later delay is asked with the run's length: ${delaysAsked.join(', ')}`);
  for (let i = 1; i < starts.length; i += 1) {
    assert.ok((starts[i] ?? 0) - (starts[i - 1] ?? 0) >= 85, `run ${i} started ${(starts[i] ?? 0) - (starts[i - 1] ?? 0)} ms after the one before: its 60 ms and a 30 ms pause`);
  }
  const runsAtStop = starts.length;
  await sleep(150);
  assert.ok(starts.length <= runsAtStop, 'nothing starts after stop');
});

repeat('a run that fails does not end the repeating', async () => {
  let runs = 0;
  const repeating = repeatAfterEach(async () => {
    runs += 1;
    throw new Error('storage away');
  }, () => 10);
  for (let waited = 0; runs < 3 && waited < 10_000; waited += 10) await sleep(10);
  repeating.stop();
  assert.ok(runs >= 3, `${runs} runs`);
});

repeat.run();
