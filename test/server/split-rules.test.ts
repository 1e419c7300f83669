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

rules.run();
