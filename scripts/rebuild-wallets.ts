import { DomainError } from '../domain/errors.js';
import { rebuildWallets } from '../server/services/rebuild.js';
import { reconcile } from '../server/services/reconcile.js';
import { commandLine } from './command-line.js';
import { openStorage } from './storage.js';

// npm run rebuild-wallets [-- --force]: rebuild Redis from the ledger after Redis lost its
// data; refuses while a gateway is taking gifts unless --force. Reconciles afterwards.
const values = commandLine('npm run rebuild-wallets [-- --force]  (rebuilds Redis from the ledger; --force even while a gateway takes gifts)',
  { force: { type: 'boolean', default: false } });
const storage = await openStorage('rebuild-wallets');
try {
  const report = await rebuildWallets(storage.redis, storage.sql, storage.keys, { force: values.force });
  process.stderr.write(`rebuilt ${report.accounts} balances, ${report.earners} earnings totals, ${report.carries} carries, ` +
    `${report.idempotencyRecords} idempotency records (${report.unflushedEntriesIncluded} unflushed entries included)\n`);
  const check = await reconcile(storage.redis, storage.sql, storage.keys);
  process.stderr.write(check.ok ? 'reconcile after rebuild: clean\n' : `reconcile after rebuild: ${check.mismatches.length} mismatches\n`);
  process.exitCode = check.ok ? 0 : 1;
} catch (error) {
  process.stderr.write(`rebuild-wallets: ${error instanceof DomainError ? error.message : String(error)}\n`);
  process.exitCode = 2;
} finally {
  await storage.close();
}
