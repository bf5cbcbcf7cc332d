// `node bench/ingest-claim-ab.js [--rows 200000] [--rounds 6]` (after `npm run build`): what claiming a file's
// event ids in the durable log (one memory of ids per source, push and files alike) adds to `sluice ingest` of
// a CSV into a stream source, against the same ingest into a batch source with the same schema and eventId
// (which checks only the lake), in the same process and run, alternating (balanced order; first round warm-up).
// Every round ingests fresh ids (no duplicates). Process CPU per row (DuckDB's threads included) and wall time.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as defs from '../dist/definitions/index.js';
import { ingestFile } from '../dist/ingest/ingest-file.js';
import { openPlatform } from '../dist/platform.js';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.indexOf(`--${name}`) < 0 ? fallback : Number(args[args.indexOf(`--${name}`) + 1]));
const rows = opt('rows', 200_000);
const rounds = opt('rounds', 6);
const schema = { payment_id: 'string', account_id: 'string', amount: 'float64', ts: 'timestamp' };
const spec = defs.defineProject({
  name: 'claim', entities: [], featureViews: [],
  sources: [defs.streamSource({ name: 'streamed', schema, timestamp: 'ts', eventId: 'payment_id' }), defs.batchSource({ name: 'batch', schema, timestamp: 'ts', eventId: 'payment_id' })],
});
const project = defs.compileProject(spec);
const dir = mkdtempSync(join(tmpdir(), 'sluice-claim-'));
const platform = openPlatform({ projectDir: dir, threads: 1, projectSpec: spec });
const file = (tag) => {
  const path = join(dir, `${tag}.csv`);
  const lines = ['payment_id,account_id,amount,ts'];
  for (let i = 0; i < rows; i++) lines.push(`${tag}-${i},a${i % 5000},${i % 997},2024-01-01T00:00:00Z`);
  writeFileSync(path, lines.join('\n'));
  return path;
};
const r = { streamed: [], batch: [] };
const wall = { streamed: [], batch: [] };
try {
  for (let round = 0; round < rounds; round++) {
    for (const source of round % 2 ? ['batch', 'streamed'] : ['streamed', 'batch']) {
      const path = file(`${source}${round}`);
      const c0 = process.cpuUsage(); const t0 = performance.now();
      const result = await ingestFile(platform, project, source, path);
      const c = process.cpuUsage(c0);
      if (result.accepted !== rows) throw new Error(`${source}: ${result.accepted} accepted`);
      r[source].push((c.user + c.system) / rows); wall[source].push(performance.now() - t0);
    }
  }
} finally {
  await platform.close();
  rmSync(dir, { recursive: true, force: true });
}
const med = (a) => { const s = a.slice(1).sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const ratios = r.streamed.slice(1).map((s, i) => s / r.batch[i + 1]).sort((x, y) => x - y);
console.log(JSON.stringify({
  commit: execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim(), load: loadavg().map((l) => l.toFixed(2)).join(' '), rows,
  cpuUsPerRow: { streamed: med(r.streamed).toFixed(2), batch: med(r.batch).toFixed(2) }, wallMs: { streamed: med(wall.streamed).toFixed(0), batch: med(wall.batch).toFixed(0) },
  pairedCpuRatio: `median ${ratios[Math.floor(ratios.length / 2)].toFixed(3)} (${ratios[0].toFixed(3)}-${ratios.at(-1).toFixed(3)})`,
}));
