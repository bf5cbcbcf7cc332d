import { describe, expect, test } from 'vitest';
import { columnReferences } from './column-references.js';
import { lineageConfigFromEnv } from './lineage-config.js';

describe('lineage configuration, as OpenLineage clients read it', () => {
  test('off unless configured; HTTP from OPENLINEAGE_URL; file from the transport variables; namespace default sluice', () => {
    expect(lineageConfigFromEnv({})).toBeUndefined();
    expect(lineageConfigFromEnv({ OPENLINEAGE_URL: 'http://m:5000', OPENLINEAGE_API_KEY: 'k' })).toEqual({ transport: 'http', url: 'http://m:5000', endpoint: 'api/v1/lineage', apiKey: 'k', namespace: 'sluice' });
    expect(lineageConfigFromEnv({ OPENLINEAGE__TRANSPORT__TYPE: 'file', OPENLINEAGE__TRANSPORT__LOG_FILE_PATH: '/tmp/l.jsonl', OPENLINEAGE_NAMESPACE: 'prod' })).toEqual({ transport: 'file', path: '/tmp/l.jsonl', namespace: 'prod' });
    expect(lineageConfigFromEnv({ OPENLINEAGE_URL: 'http://m:5000', OPENLINEAGE_DISABLED: 'true' })).toBeUndefined();
  });
});

describe('columns an expression reads', () => {
  test('quoted identifiers that are columns, not text inside string literals; names compared case-insensitively', () => {
    expect(columnReferences(`TRY(CAST(("Amount" * coalesce("fx_rate", 1.0)) AS DOUBLE)) || '"channel"'`, ['amount', 'fx_rate', 'channel'])).toEqual(['amount', 'fx_rate']);
  });
});
