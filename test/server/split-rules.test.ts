import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { migrate } from '../../server/db/migrate.js';
import { connectPostgres } from '../../server/db/sql.js';
import { SplitRules } from '../../server/services/split-rules.js';
import { testStorage, uniqueId } from '../helpers/env.js';

// The contracts every node keeps in memory: a change made here must win over a reload
// that read the table just before it.
const rules = suite('split rules');

rules('a contract set while a reload is reading the table is what gifts use afterwards, not the reload\'s older copy', async () => {
  const sql = connectPostgres(testStorage.databaseUrl(), { max: 4 });
  try {
    await migrate(sql);
    // Enough contracts that a reload takes a while to read, as on a real platform.
    const prefix = uniqueId('bulk');
    await sql`
      insert into split_contracts (streamer_id, creator_tiers)
      select ${prefix} || '-' || n, '[{"fromMonthCoins":0,"bps":7000}]'::jsonb from generate_series(1, 20000) as n`;
    const streamer = uniqueId('changing');
    const directory = new SplitRules(sql);
    await directory.setContract(streamer, { creatorTiers: [{ fromMonthCoins: 0, bps: 5000 }], agency: null });
    await directory.preload();
    for (let round = 1; round <= 20; round += 1) {
      const bps = 5000 + round;
      // The reload starts first and reads the table as it was; the change commits meanwhile.
      const reloading = directory.preload();
      await directory.setContract(streamer, { creatorTiers: [{ fromMonthCoins: 0, bps }], agency: null });
      await reloading;
      const [creator] = await directory.payeesFor(streamer);
      assert.is(creator?.tiers[0]?.bps, bps, `round ${round}: the change made here stands`);
    }
    await sql`delete from split_contracts where streamer_id like ${`${prefix}-%`} or streamer_id = ${streamer}`;
  } finally {
    await sql.end();
  }
});

rules('a node rereads the contracts only when they changed, and then sees every change another node made', async () => {
  const sql = connectPostgres(testStorage.databaseUrl(), { max: 4 });
  try {
    await migrate(sql);
    const nodeA = new SplitRules(sql);
    const nodeB = new SplitRules(sql);
    await nodeA.preload();
    await nodeB.preload();
    const reads = nodeB.fullReads;
    for (let i = 0; i < 5; i += 1) await nodeB.preload();
    assert.is(nodeB.fullReads, reads, 'nothing changed: one counter read each time, not the table');

    const streamer = uniqueId('moving');
    const contract = { creatorTiers: [{ fromMonthCoins: 0, bps: 6100 }], agency: null };
    await nodeA.setContract(streamer, contract);
    await nodeB.preload();
    assert.is(nodeB.fullReads, reads + 1);
    assert.is((await nodeB.payeesFor(streamer))[0]?.tiers[0]?.bps, 6100, 'node B sees node A\'s change');
    // A change made straight in the table (an operator, a migration) counts too, deletes included.
    await sql`update split_contracts set creator_tiers = '[{"fromMonthCoins":0,"bps":6200}]'::jsonb where streamer_id = ${streamer}`;
    await nodeB.preload();
    assert.is((await nodeB.payeesFor(streamer))[0]?.tiers[0]?.bps, 6200);
    await sql`delete from split_contracts where streamer_id = ${streamer}`;
    await nodeB.preload();
    assert.is((await nodeB.payeesFor(streamer))[0]?.tiers[0]?.bps, 7000, 'removed: the default contract again');
    assert.is(nodeB.fullReads, reads + 3);
  } finally {
    await sql.end();
  }
});

rules.run();
