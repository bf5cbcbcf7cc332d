import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePosition, encodePosition, type CdcPosition } from './cdc-position.js';
import { formatLsn, parseLsn } from './lsn.js';

const lsn = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map(formatLsn);
const key = fc.string({ maxLength: 20 });
const part = fc.record({ at: lsn, to: fc.option(key, { nil: undefined }) }).map(({ at, to }) => (to === undefined ? { at } : { at, to }));
const position: fc.Arbitrary<CdcPosition> = fc.oneof(
  fc.record({ phase: fc.constant('snapshot' as const), slotLsn: lsn, rows: fc.nat(), parts: fc.array(part, { minLength: 1, maxLength: 4 }) }),
  fc.record({ phase: fc.constant('stream' as const), lsn }),
  fc.record({ phase: fc.constant('stream' as const), lsn, txn: fc.record({ commit: lsn, done: fc.nat() }), parts: fc.array(part, { minLength: 2, maxLength: 4 }) }),
);

describe('CDC positions', () => {
  it('read back what they wrote, whatever the keys hold (colons, quotes, unicode)', () => {
    fc.assert(fc.property(position, (p) => {
      expect(decodePosition(encodePosition(p))).toEqual(p);
    }));
  });

  it('are readable while streaming', () => {
    expect(encodePosition({ phase: 'stream', lsn: '0/16B3748' })).toBe('lsn:0/16B3748');
    expect(encodePosition({ phase: 'snapshot', slotLsn: '0/16B3748', rows: 1000, parts: [{ at: '0/16B3748', to: '1000' }] })).toBe('snapshot:0/16B3748:1000:[{"at":"0/16B3748","to":"1000"}]');
  });

  it('are written in the form Postgres prints (`0/16B3748`), whatever form the replication library gave', () => {
    // pg-logical-replication reads LSNs as 8+8 hex digits (`00000000/016B3748`); status and the stored position must agree.
    expect(encodePosition({ phase: 'stream', lsn: '00000000/016B3748', txn: { commit: '00000000/016B3700', done: 2 } })).toBe('lsn:0/16B3748:{"txn":{"commit":"0/16B3700","done":2}}');
    expect(encodePosition({ phase: 'snapshot', slotLsn: '00000000/016B3748', rows: 1, parts: [{ at: '00000000/016B3748' }] })).toBe('snapshot:0/16B3748:1:[{"at":"0/16B3748"}]');
  });

  it('refuse positions of another connector', () => {
    for (const text of ['42', 'seq:17', 'lsn:nope', 'snapshot:0/1:x:[]', 'snapshot:0/1:3:[]', 'lsn:0/1:{bad']) {
      expect(() => decodePosition(text), text).toThrow(/not a Postgres CDC position/);
    }
  });
});

describe('LSNs', () => {
  it('compare as numbers past 2^53 and print as Postgres does', () => {
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe((1n << 64n) - 1n);
    expect(parseLsn('16/B374D848') > parseLsn('16/B374D800')).toBe(true);
    expect(parseLsn('00000001/0000000A')).toBe(parseLsn('1/A'));
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
  });
});
