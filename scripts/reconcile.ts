import { reconcile } from '../server/services/reconcile.js';
import { commandLine } from './command-line.js';
import { openStorage } from './storage.js';

// npm run reconcile: prints the report as JSON; exits 1 on any mismatch.
commandLine('npm run reconcile  (prints the report as JSON on stdout, a summary on stderr; exit 0 clean, 1 on any mismatch, 3 when storage is not reached)', {});
const storage = await openStorage('reconcile');
try {
  const report = await reconcile(storage.redis, storage.sql, storage.keys);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(report.ok
    ? `reconcile: clean, ${report.accounts} accounts, ${report.unflushedEntries} entries not yet flushed\n`
    : `reconcile: ${report.mismatches.length} mismatched accounts, ${report.unbalancedEntries.length} unbalanced entries, ` +
      `${report.negativeBalances.length} accounts below zero, totals ledger ${report.ledgerTotal} hot ${report.hotTotal}\n`);
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await storage.close();
}
