// The payments project and 1,000-event push bodies the decode A/B benches share (as bench/push.js sends them).
/** `defs`: a built `dist/definitions/index.js`; `spaced`: bodies written with spaces (the plain path declines them). */
export function paymentsBodies(defs, { bodies: count, spaced = false }) {
  const account = defs.entity({ name: 'account', joinKey: 'account_id' });
  const payments = defs.streamSource({ name: 'payments', timestamp: 'ts', eventId: 'payment_id', allowedLateness: '1h', schema: { payment_id: 'string', account_id: 'string', amount: 'float64', channel: 'string', ts: 'timestamp' } });
  const stats = defs.featureView({ name: 'payment_stats', entity: account, source: payments, features: { n: defs.count({ window: '10m' }) } });
  const project = defs.compileProject(defs.defineProject({ name: 'b', entities: [account], sources: [payments], featureViews: [stats] }));
  const CH = ['card', 'web', 'pos', 'wire']; let seq = 0; const now = Date.now();
  const [sep, colon] = spaced ? [', ', ': '] : [',', ':'];
  const body = (n) => {
    const t = [];
    for (let i = 0; i < n; i++) {
      const s = seq++;
      t.push(`{"payment_id"${colon}"p${s}"${sep}"account_id"${colon}"a${(s * 2654435761) % 100000}"${sep}"amount"${colon}${(s % 99991) / 100}${sep}"channel"${colon}"${CH[s & 3]}"${sep}"ts"${colon}"${new Date(now - (s % 1800000)).toISOString()}"}`);
    }
    return `{"events"${colon}[${t.join(sep)}]}`;
  };
  return { project, source: project.sources[0], now, bodies: Array.from({ length: count }, () => body(1000)) };
}
