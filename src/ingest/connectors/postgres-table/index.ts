export { ingestPostgresTable, type PostgresIngestOptions, type PostgresIngestResult } from './ingest-postgres-table.js';
export { postgresTableConfig, decodeMark, encodeMark, DEFAULT_PAGE_SIZE, type PostgresTableConfig, type TableMark } from './postgres-table-config.js';
