import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { batchSource, defineProject, entity, featureService, featureView, field, mask, pii } from '../src/definitions/index.js';
import { keyedHash, projectSecret } from '../src/compliance/project-secret.js';
import { ingestFile } from '../src/ingest/ingest-file.js';
import { runSkewJob } from '../src/observability/skew/index.js';
import { materialize } from '../src/processing/materialize.js';
import { latestSnapshots } from '../src/serving/latest-snapshots.js';
import { getOnlineFeatures } from '../src/serving/online-features.js';
import { appendServedRows, servedRowsOf } from './support/serving-log.js';
import { tempPlatform } from './support/temp-platform.js';

// Skew examples carry served and recomputed values read from the (clear) serving log: they are
// masked as `sluice get` masks the same feature, for the report's principal; what is stored
// (skew runs, the health condition) is masked for the system principal.
const customer = entity({ name: 'customer', joinKey: 'email', classify: pii('direct') });
const customers = batchSource({
  name: 'customers', schema: { email: 'string', phone: 'string', diagnosis: 'string', visits: 'int64', ts: 'timestamp' }, timestamp: 'ts',
  classify: { email: pii('direct'), phone: pii('direct'), diagnosis: pii('sensitive') },
});
const profile = featureView({ name: 'profile', entity: customer, source: customers, features: { phone: field('phone'), diagnosis: field('diagnosis'), visits: field('visits') } });
const spec = defineProject({
  name: 'skewmask', entities: [customer], sources: [customers], featureViews: [profile], featureServices: [featureService({ name: 'crm', features: [profile] })],
  masking: [mask({ role: 'fraud-model', pii: 'direct', with: 'clear' })],
});

const EMAIL = 'MARKER-5f3a@example.com';
const PHONE = 'MARKER-PHONE-77123';
const SERVED_PHONE = 'MARKER-STALE-99881';
const DIAGNOSIS = 'MARKER-asthma';
const T = Date.parse('2026-11-28T12:00:00Z');

describe('skew examples and drift profiles are masked', () => {
  let env: Awaited<ReturnType<typeof tempPlatform>>;
  beforeAll(async () => {
    env = await tempPlatform(spec, T);
    const csv = join(env.dir, 'customers.csv');
    writeFileSync(csv, `email,phone,diagnosis,visits,ts\n${EMAIL},${PHONE},${DIAGNOSIS},3,2026-11-01T00:00:00Z\n`);
    await ingestFile(env.platform, env.project, 'customers', csv);
    await materialize(env.platform, env.project);
    const response = await getOnlineFeatures(env.project, await env.platform.online(), { service: 'crm', entities: { email: [EMAIL] } }, T, await latestSnapshots(env.platform.metadata, env.project));
    // What a corrupted online store served: other phone, diagnosis and visits than the lake gives.
    const [row] = servedRowsOf(response, 'crm', ['email'], T);
    appendServedRows(env.platform.dataDir, [{ ...row!, values: { ...row!.values, profile__phone: SERVED_PHONE, profile__diagnosis: 'MARKER-flu', profile__visits: '4' } }]);
  });
  afterAll(async () => env?.dispose());

  test('the report for a principal without a grant, the stored run and the health condition hold no clear classified value; figures are unchanged', async () => {
    const principal = { name: 'cli:test', roles: ['local-operator'], origin: 'local' };
    const report = await runSkewJob(env.platform, env.project, { until: T + 1, principal });
    const secret = projectSecret(env.platform.dataDir);
    const hash = (v: string) => keyedHash(secret, 'mask', v);
    const phone = report.features.find((f) => f.feature === 'profile__phone')!;
    expect(phone).toMatchObject({ compared: 1, mismatches: 1, mismatchRate: 1 });
    expect(phone.examples[0]).toMatchObject({ online: hash(SERVED_PHONE), offline: hash(PHONE), keys: { email: hash(EMAIL) }, entityKey: hash(EMAIL) });
    expect(report.features.find((f) => f.feature === 'profile__diagnosis')!.examples[0]).toMatchObject({ online: null, offline: null });
    // An unclassified feature is shown as computed.
    expect(report.features.find((f) => f.feature === 'profile__visits')!.examples[0]).toMatchObject({ online: '4', offline: '3' });
    const stored = JSON.stringify(await env.platform.metadata.skew.list({ limit: 100 }));
    const health = JSON.stringify([await env.platform.metadata.health.list(), await env.platform.metadata.health.listAlerts(100)]);
    const audit = await env.platform.metadata.audit.list();
    for (const text of [JSON.stringify(report), stored, health, JSON.stringify(audit)]) {
      for (const marker of [EMAIL, PHONE, SERVED_PHONE, DIAGNOSIS, 'MARKER-flu']) expect(text).not.toContain(marker);
    }
    // The condition (status right, alert channels) carries no example at all, masked or not: the values need read rights (rev11).
    expect(health).not.toContain(hash(PHONE));
    // The drift profile of the ingested batch keeps classified categories as their masking hash.
    const batch = JSON.stringify(await env.platform.metadata.drift.profile('batch:customers'));
    for (const marker of [EMAIL, PHONE, DIAGNOSIS]) expect(batch).not.toContain(marker);
    expect(batch).toContain(hash(PHONE));
    const read = audit.find((r) => r.action === 'classified.read' && r.details?.path === 'skew')!;
    expect(read).toMatchObject({ actor: 'cli:test', target: 'skew', outcome: 'allowed', purpose: 'operations' });
    expect(read.details).toMatchObject({ columns: { profile__phone: 'hash', profile__diagnosis: 'null', email: 'hash' } });
  });

  test('a principal granted clear direct data sees them in clear in its report, and the stored run stays masked', async () => {
    const report = await runSkewJob(env.platform, env.project, { until: T + 1, principal: { name: 'key:fraud', roles: ['fraud-model'], origin: 'local' } });
    expect(report.features.find((f) => f.feature === 'profile__phone')!.examples[0]).toMatchObject({ online: SERVED_PHONE, offline: PHONE, entityKey: EMAIL });
    expect(report.features.find((f) => f.feature === 'profile__diagnosis')!.examples[0]).toMatchObject({ online: null });
    expect(JSON.stringify(await env.platform.metadata.health.list())).not.toContain(PHONE);
  });
});
