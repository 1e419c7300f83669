import { reconcile } from '../server/services/reconcile.js';
import { verifyDerivedSums, withDerivedSums } from '../server/services/derived-sums.js';
import { commandLine } from './command-line.js';
import { openStorage } from './storage.js';

// npm run reconcile: prints the report as JSON; exits 1 on any mismatch.
const options = commandLine('npm run reconcile [-- --full]  (prints the report as JSON on stdout, a summary on stderr; exit 0 clean, 1 on any mismatch, 3 when storage is not reached; ' +
  '--full also sums every posting again to check the sums kept beside the ledger: the reconcile checkpoint and the payees\' per-day and per-room earnings)', {
  full: { type: 'boolean', default: false },
});
const storage = await openStorage('reconcile');
try {
  const report = await reconcile(storage.redis, storage.sql, storage.keys);
  const derived = options.full ? await verifyDerivedSums(storage.sql) : undefined;
  process.stdout.write(`${JSON.stringify(derived === undefined ? report : withDerivedSums(report, derived), null, 2)}\n`);
  process.stderr.write(report.ok
    ? `reconcile: clean, ${report.accounts} accounts, ${report.unflushedEntries} entries not yet flushed\n`
    : `reconcile: ${report.mismatches.length} mismatched accounts, ${report.unbalancedEntries.length} unbalanced entries, ` +
      `${report.negativeBalances.length} accounts below zero, totals ledger ${report.ledgerTotal} hot ${report.hotTotal}\n`);
  if (derived !== undefined) {
    process.stderr.write(derived.ok
      ? 'reconcile --full: the checkpoint and the payees\' earnings sums match the ledger\n'
      : `reconcile --full: ${derived.checkpointMismatches.length} checkpoint sums, ${derived.payeeDayMismatches.length} payee days and ` +
        `${derived.payeeRoomMismatches.length} payee rooms disagree with the ledger\n`);
  }
  process.exitCode = report.ok && (derived?.ok ?? true) ? 0 : 1;
} finally {
  await storage.close();
}
