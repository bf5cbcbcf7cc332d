import pg from 'pg';

/** A quoted Postgres identifier: `"accounts"`, `"My ""odd"" name"`. */
export function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A quoted Postgres string literal. */
export function pgLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * Session settings that make values print the same way in the snapshot (`col::text`) and in
 * the replication stream (pgoutput prints with the walsender's settings): ISO timestamps in UTC,
 * floats with all their digits, bytea in hex.
 */
const SESSION_SETTINGS = "SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, YMD'; SET IntervalStyle TO 'postgres'; SET extra_float_digits TO 3; SET bytea_output TO 'hex'";

/**
 * Opens a connection (a logical replication connection with `replication`), with the session
 * settings above. A connection error after connect is reported to `onError` instead of being
 * thrown at the process as an unhandled `error` event.
 */
export async function connectPostgres(connection: string, options: { replication?: boolean; onError: (error: Error) => void }): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: connection, ...(options.replication && { replication: 'database' }) });
  client.on('error', options.onError);
  try {
    await client.connect();
    await client.query(SESSION_SETTINGS);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

/** Ends a connection, ignoring a connection that is already gone. */
export async function closePostgres(client: pg.Client | undefined): Promise<void> {
  await client?.end().catch(() => undefined);
}
