import postgres from 'postgres';

export type Sql = postgres.Sql<Record<string, never>>;
/** The handle inside `sql.begin`. */
export type Tx = postgres.TransactionSql<Record<string, never>>;

export function connectPostgres(url: string, options: { max?: number } = {}): Sql {
  return postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    // bigint columns come back as JS bigint, never as a lossy number.
    types: { bigint: postgres.BigInt },
    connection: { application_name: 'live-gifting' },
  }) as unknown as Sql;
}
