import postgres from 'postgres';

export type Sql = postgres.Sql<Record<string, never>>;
/** The handle inside `sql.begin`. */
export type Tx = postgres.TransactionSql<Record<string, never>>;

const idleInTransactionTimeoutMs = 30_000;

export function connectPostgres(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // bigint columns come back as JS bigint, never as a lossy number.
    types: { bigint: postgres.BigInt },
    // A transaction left idle this long is ended by PostgreSQL. None of ours waits on
    // anything slow between statements; one that does is a bug (a transaction waiting for a
    // second pooled connection can hold its locks for ever), and this turns it into one
    // failed request instead of a server whose every query hangs behind those locks.
    connection: { application_name: 'live-gifting', idle_in_transaction_session_timeout: idleInTransactionTimeoutMs },
  }) as unknown as Sql;
}
