import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { duckDbEngine } from '../../storage/engine/duckdb-engine.js';
import type { SqlEngine } from '../../storage/engine/sql-engine.js';
import { mergeColumnProfiles, profileValues, type ColumnProfile } from './column-profile.js';
import { driftScore, jensenShannon, psi } from './drift-score.js';
import { profileRelation } from './profile-sql.js';

// A brute-force reference that shares no code with the profiles: exact deciles of the raw values
// (the element at rank floor(q·(n-1)), as a sketch reads them), raw values binned by them,
// and PSI / JS written out from their definitions.
const EPS = 1e-4;
/** A DOUBLE literal read by DuckDB's double parser (a bare literal would be a DECIMAL, rounded on the cast), keeping -0's sign. */
const dbl = (v: number | null | undefined) => (v === null || v === undefined ? 'NULL' : `'${Object.is(v, -0) ? '-0.0' : String(v)}'::DOUBLE`);
function bruteNumeric(reference: number[], current: number[]): [number[], number[]] {
  const sorted = [...reference].sort((a, b) => a - b);
  const edges = [...new Set([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => sorted[Math.floor(q * (sorted.length - 1) + 1e-9)]!))].sort((a, b) => a - b);
  // Bins: below the first edge, each edge alone, between two edges, above the last; empty on both sides left out.
  const share = (values: number[]) => {
    const bins = new Array<number>(2 * edges.length + 1).fill(0);
    for (const v of values) {
      let k = 0;
      while (k < edges.length && v > edges[k]!) k++;
      bins[k < edges.length && v === edges[k] ? 2 * k + 1 : 2 * k]!++;
    }
    return bins.map((n) => n / values.length);
  };
  const p = share(reference), q = share(current);
  const kept = p.map((_, i) => i).filter((i) => p[i]! > 0 || q[i]! > 0);
  return [kept.map((i) => p[i]!), kept.map((i) => q[i]!)];
}
function bruteCategorical(reference: string[], current: string[]): [number[], number[]] {
  const cats = [...new Set([...reference, ...current])];
  const share = (values: string[]) => cats.map((c) => values.filter((v) => v === c).length / values.length);
  return [share(reference), share(current)];
}
function brutePsi(p: number[], q: number[]): number {
  const k = p.length;
  return p.reduce((s, _, i) => {
    const a = (p[i]! + EPS) / (1 + k * EPS);
    const b = (q[i]! + EPS) / (1 + k * EPS);
    return s + (b - a) * Math.log(b / a);
  }, 0);
}
function bruteJs(p: number[], q: number[]): number {
  const kl = (x: number[], m: number[]) => x.reduce((s, xi, i) => (xi === 0 ? s : s + xi * Math.log(xi / m[i]!)), 0);
  const m = p.map((pi, i) => (pi + q[i]!) / 2);
  return kl(p, m) / 2 + kl(q, m) / 2;
}

const integers = fc.array(fc.integer({ min: 1, max: 60 }), { minLength: 20, maxLength: 400 });
const categories = fc.array(fc.constantFrom('web', 'pos', 'atm', 'moto', 'x'), { minLength: 5, maxLength: 300 });

describe('PSI and Jensen-Shannon against a brute-force reference', () => {
  test('numeric: the same scores as exact deciles of the raw values (integers: sketch buckets never straddle two values)', () => {
    fc.assert(fc.property(integers, integers, (a, b) => {
      const [p, q] = bruteNumeric(a, b);
      expect(driftScore(profileValues(a, 'numeric'), profileValues(b, 'numeric'), 'psi')!.score).toBeCloseTo(brutePsi(p, q), 9);
      expect(driftScore(profileValues(a, 'numeric'), profileValues(b, 'numeric'), 'js')!.score).toBeCloseTo(bruteJs(p, q), 9);
    }), { numRuns: 200 });
  });

  test('a shift of most of the mass scores above 0, also below, at or above a repeated decile (PSI and JS)', () => {
    const shifted = fc.record({
      base: fc.integer({ min: -50, max: 50 }), shift: fc.integer({ min: -40, max: 40 }).filter((d) => d !== 0),
      share: fc.double({ min: 0.55, max: 1, noNaN: true }), n: fc.integer({ min: 10, max: 300 }), noise: fc.array(fc.integer({ min: -100, max: 100 }), { maxLength: 30 }),
    });
    fc.assert(fc.property(shifted, ({ base, shift, share, n, noise }) => {
      const most = Math.ceil(share * n);
      const reference = [...Array<number>(most).fill(base), ...noise];
      const current = [...Array<number>(most).fill(base + shift), ...noise];
      for (const metric of ['psi', 'js'] as const) expect(driftScore(profileValues(reference, 'numeric'), profileValues(current, 'numeric'), metric)!.score).toBeGreaterThan(0);
    }), { numRuns: 300 });
  });

  test('training 97% at 5 against served 97% at 0 (review finding 6): far over the error threshold; labels show 5', () => {
    const reference = profileValues([...Array<number>(97).fill(5), 0, 0, 0], 'numeric');
    const current = profileValues([...Array<number>(3).fill(5), ...Array<number>(97).fill(0)], 'numeric');
    const scored = driftScore(reference, current, 'psi')!;
    expect(scored.score).toBeGreaterThan(1);
    expect(driftScore(reference, current, 'js')!.score).toBeGreaterThan(0.3);
    expect(scored.binned.bins).toEqual(['< 5', '= 5']);
    expect(driftScore(profileValues(Array<number>(100).fill(5), 'numeric'), profileValues(Array<number>(100).fill(1), 'numeric'), 'js')!.binned.bins).toEqual(['< 5', '= 5']);
    expect(driftScore(profileValues([-2.5, 0.1, 1234.5], 'numeric'), profileValues([9], 'numeric'), 'js')!.binned.bins).toEqual(['= -2.5', '= 0.1', '> 0.1']);
  });

  test('categorical: the same scores as exact shares per category', () => {
    fc.assert(fc.property(categories, categories, (a, b) => {
      const [p, q] = bruteCategorical(a, b);
      expect(driftScore(profileValues(a, 'categorical'), profileValues(b, 'categorical'), 'psi')!.score).toBeCloseTo(brutePsi(p, q), 9);
      expect(driftScore(profileValues(a, 'categorical'), profileValues(b, 'categorical'), 'js')!.score).toBeCloseTo(bruteJs(p, q), 9);
    }), { numRuns: 200 });
  });

  test('identical distributions score 0; JS is symmetric and at most ln 2, PSI symmetric in its bins', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }), (a, b) => {
      const pa = profileValues(a, 'numeric');
      const pb = profileValues(b, 'numeric');
      expect(driftScore(pa, pa, 'psi')!.score).toBe(0);
      expect(driftScore(pa, pa, 'js')!.score).toBe(0);
      const { binned } = driftScore(pa, pb, 'js')!;
      const js = jensenShannon(binned.reference, binned.current);
      expect(js).toBeGreaterThanOrEqual(0);
      expect(js).toBeLessThanOrEqual(Math.LN2 + 1e-12);
      expect(jensenShannon(binned.current, binned.reference)).toBeCloseTo(js, 12);
      expect(psi(binned.current, binned.reference)).toBeCloseTo(psi(binned.reference, binned.current), 12);
    }), { numRuns: 200 });
  });

  test('a sample of the same distribution stays under the warning; a shifted one is over the error threshold', () => {
    const rand = (seed: number) => () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const normal = (r: () => number, mean: number) => mean + 5 * Math.sqrt(-2 * Math.log(r() || 1e-12)) * Math.cos(2 * Math.PI * r());
    const r = rand(7);
    const training = Array.from({ length: 20_000 }, () => normal(r, 100));
    const same = Array.from({ length: 5_000 }, () => normal(r, 100));
    const shifted = Array.from({ length: 5_000 }, () => normal(r, 105));
    const t = profileValues(training, 'numeric');
    expect(driftScore(t, profileValues(same, 'numeric'), 'psi')!.score).toBeLessThan(0.1);
    expect(driftScore(t, profileValues(shifted, 'numeric'), 'psi')!.score).toBeGreaterThan(0.25);
    const [p, q] = bruteNumeric(training, shifted);
    expect(brutePsi(p, q)).toBeGreaterThan(0.25);
    expect(driftScore(t, profileValues(shifted, 'numeric'), 'psi')!.score).toBeCloseTo(brutePsi(p, q), 1);
    // Standard deviation 5 around 100: buckets 1% wide, so the sketch's deciles are within 0.2 sd of the exact ones.
  });

  test('a side without values cannot be scored', () => {
    expect(driftScore(profileValues([null, null], 'numeric'), profileValues([1], 'numeric'), 'psi')).toBeUndefined();
    expect(driftScore(profileValues(['a'], 'categorical'), profileValues([1], 'numeric'), 'psi')).toBeUndefined();
  });
});

describe('profiles', () => {
  let engine: SqlEngine;
  beforeAll(async () => {
    engine = await duckDbEngine({ threads: 1 });
  });
  afterAll(async () => engine.close());

  test('a negative zero is one value: min and max are 0 on both profiles and after merge (CI seed 761907953 found [-0])', async () => {
    await engine.run("CREATE OR REPLACE TABLE t (x DOUBLE); INSERT INTO t VALUES ('-0.0'::DOUBLE)");
    const sql = await profileRelation(engine, 't', [{ name: 'x', kind: 'numeric' }]);
    const mem = profileValues([-0], 'numeric');
    for (const p of [sql.columns.x, mem, mergeColumnProfiles(mem, profileValues([], 'numeric'))] as { min: number; max: number }[]) {
      expect(Object.is(p.min, 0) && Object.is(p.max, 0)).toBe(true);
    }
    expect(sql.columns.x).toEqual(mem);
  });

  test('the SQL profile (DuckDB histogram of sketch keys) equals the in-memory one; JSON round trip and merge are exact', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.option(fc.oneof(fc.double({ min: -1e9, max: 1e9, noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -5, max: 5 }).map((x) => x * 1.0)), { nil: null }), { minLength: 0, maxLength: 200 }),
      fc.array(fc.option(fc.constantFrom('a', 'b', "it's", 'd'), { nil: null }), { minLength: 0, maxLength: 200 }),
      async (numbers, strings) => {
        const n = Math.max(numbers.length, strings.length);
        await engine.run('CREATE OR REPLACE TABLE t (x DOUBLE, s VARCHAR)');
        if (n > 0) {
          await engine.run(`INSERT INTO t VALUES ${Array.from({ length: n }, (_, i) => `(${dbl(numbers[i])}, ${strings[i] === undefined || strings[i] === null ? 'NULL' : `'${strings[i]!.replace("'", "''")}'`})`).join(', ')}`);
        }
        const pad = <T>(xs: (T | null)[]) => [...xs, ...new Array<null>(n - xs.length).fill(null)];
        const sql = await profileRelation(engine, 't', [{ name: 'x', kind: 'numeric' }, { name: 's', kind: 'categorical' }]);
        const x = profileValues(pad(numbers), 'numeric');
        expect(sql.rows).toBe(n);
        expect({ ...sql.columns.x, sum: 0 }).toEqual({ ...x, sum: 0 });
        expect((sql.columns.x as { sum: number }).sum).toBeCloseTo((x as { sum: number }).sum, 0);
        expect(sql.columns.s).toEqual(profileValues(pad(strings), 'categorical'));
        expect(JSON.parse(JSON.stringify(sql)) as unknown).toEqual(sql);
        const half = Math.floor(n / 2);
        const merged = mergeColumnProfiles(profileValues(pad(numbers).slice(0, half), 'numeric'), profileValues(pad(numbers).slice(half), 'numeric'));
        expect({ ...merged, sum: 0 }).toEqual({ ...x, sum: 0 });
        const cats: ColumnProfile = mergeColumnProfiles(profileValues(pad(strings).slice(0, half), 'categorical'), profileValues(pad(strings).slice(half), 'categorical'));
        expect(cats).toEqual(profileValues(pad(strings), 'categorical'));
      },
    ), { numRuns: 40 });
  });
});
