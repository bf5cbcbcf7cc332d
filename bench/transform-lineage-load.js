// What reading SQL transforms' column lineage from DuckDB's parser adds to loading a project
// (`withParsedLineage`, run by every command that loads sluice.config.ts): alternating rounds of
// compile + catalog (A, what a load did before) and compile + parsed lineage + catalog (B), over
// a project with N transforms. Wall and process CPU per load, median and range over the rounds.
// Usage: node bench/transform-lineage-load.js [--transforms 1,20] [--rounds 15]
import { batchSource, compileProject, defineProject, pii, sqlTransform } from '../dist/index.js';
import { classificationCatalog } from '../dist/compliance/classification/catalog.js';
import { withParsedLineage } from '../dist/config/parse-transform-lineage.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : process.argv[i + 1];
};
const sizes = arg('transforms', '1,20').split(',').map(Number);
const rounds = Number(arg('rounds', '15'));

function project(n) {
  const customers = batchSource({ name: 'customers', schema: { customer_id: 'string', email: 'string', tier: 'string', ts: 'timestamp' }, timestamp: 'ts', classify: { email: pii('direct') } });
  const transforms = Array.from({ length: n }, (_, i) => sqlTransform({
    name: `t${i}`, inputs: [customers], timestamp: 'ts', schema: { customer_id: 'string', mail: 'string', ts: 'timestamp' },
    sql: `WITH c AS (SELECT * FROM customers WHERE tier <> 'x${i}') SELECT customer_id, x AS mail, ts FROM c, unnest([lower(email)]) t(x)`,
  }));
  return defineProject({ name: 'shop', entities: [], sources: [customers], transforms, featureViews: [] });
}

async function timed(body) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await body();
  const used = process.cpuUsage(cpu);
  return { wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000 };
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2; };
const summary = (xs) => ({ median: +median(xs).toFixed(2), min: +Math.min(...xs).toFixed(2), max: +Math.max(...xs).toFixed(2) });

for (const n of sizes) {
  const spec = project(n);
  const a = [];
  const b = [];
  for (let r = 0; r < rounds + 2; r++) {
    const order = r % 2 === 0 ? ['a', 'b'] : ['b', 'a'];
    for (const which of order) {
      const t = await timed(async () => {
        const compiled = compileProject(spec);
        classificationCatalog(which === 'a' ? compiled : await withParsedLineage(compiled));
      });
      if (r >= 2) (which === 'a' ? a : b).push(t);
    }
  }
  console.log(JSON.stringify({
    transforms: n, rounds,
    tokenLineage: { wallMs: summary(a.map((t) => t.wallMs)), cpuMs: summary(a.map((t) => t.cpuMs)) },
    parsedLineage: { wallMs: summary(b.map((t) => t.wallMs)), cpuMs: summary(b.map((t) => t.cpuMs)) },
  }));
}
