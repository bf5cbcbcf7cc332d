// The dead-letter purge's match (one key of an erasure) over N dead letters of one source: the
// text-only match (before 11-30) against the match that also reads raw JSON decoded (json_tree),
// and the decoded match only where the raw text holds a backslash, alternating in one process. Usage: node bench/dead-letter-purge.js [rows] [rounds]
import Database from 'better-sqlite3';

const rows = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 6);
const db = new Database(':memory:');
db.exec('CREATE TABLE dead_letters (id INTEGER PRIMARY KEY, source TEXT, raw TEXT, reason TEXT)');
const insert = db.prepare('INSERT INTO dead_letters (source, raw, reason) VALUES (?, ?, ?)');
db.transaction(() => {
  for (let i = 0; i < rows; i++) {
    const raw = i % 10 === 9 ? `c${i},x,1.5,bad` : JSON.stringify({ txn_id: `t${i}`, customer_id: `c${i}`, amount: i / 7, card: `4111${i}`, ts: 'bad' });
    insert.run('s', raw, 'column "ts": "bad" is not a timestamp');
  }
})();
const BYTES = 'length(CAST(raw AS BLOB)) + length(CAST(reason AS BLOB))';
const textOnly = db.prepare(`SELECT id, ${BYTES} AS bytes FROM dead_letters WHERE source = ? AND instr(raw || char(10) || reason, ?) > 0`);
const decoded = db.prepare(`SELECT id, ${BYTES} AS bytes FROM dead_letters WHERE source = ? AND (instr(raw || char(10) || reason, ?) > 0 OR EXISTS (SELECT 1 FROM json_tree(CASE WHEN json_valid(raw) THEN raw ELSE '[]' END) AS j
  WHERE instr(j.value, ?) > 0 OR instr(j.key, ?) > 0))`);
// Escapes need a backslash: without one, raw JSON's decoded strings and names are its text, so the
// decoded match runs only on raw text holding one (a numeric key part is always decoded: 1e2 is 100).
const prefiltered = db.prepare(`SELECT id, ${BYTES} AS bytes FROM dead_letters WHERE source = ? AND (instr(raw || char(10) || reason, ?) > 0 OR (instr(raw, char(92)) > 0 AND EXISTS (SELECT 1 FROM json_tree(CASE WHEN json_valid(raw) THEN raw ELSE '[]' END) AS j
  WHERE instr(j.value, ?) > 0 OR instr(j.key, ?) > 0)))`);
const key = 'zz-not-there';
const time = (f) => {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const n = f().length;
  const c = process.cpuUsage(c0);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, cpuMs: (c.user + c.system) / 1000, n };
};
for (let r = 0; r < rounds; r++) {
  const order = [['text', 'decoded', 'prefiltered'], ['prefiltered', 'decoded', 'text'], ['decoded', 'text', 'prefiltered']][r % 3];
  for (const which of order) {
    const m = which === 'text' ? time(() => textOnly.all('s', key)) : which === 'decoded' ? time(() => decoded.all('s', key, key, key)) : time(() => prefiltered.all('s', key, key, key));
    console.log(JSON.stringify({ round: r, which, rows, ...m }));
  }
}
