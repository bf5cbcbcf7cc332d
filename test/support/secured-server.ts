import type { FastifyInstance } from 'fastify';
import { createApiKey } from '../../src/compliance/access/api-keys.js';
import type { ProjectSpec } from '../../src/definitions/index.js';
import { createServer } from '../../src/serving/http/server.js';
import type { AuditRecord } from '../../src/storage/metadata/audit-store.js';
import { startStreamRuntime, type StreamRuntime } from '../../src/streaming/stream-runtime.js';
import { tempPlatform } from './temp-platform.js';

/** A real server (fastify `inject`) over a temporary platform, with one API key per role. */
export interface SecuredServer {
  readonly env: Awaited<ReturnType<typeof tempPlatform>>;
  readonly app: FastifyInstance;
  /** Per role, the token of a key of principal `<role>-svc` holding that role alone. */
  readonly keys: Readonly<Record<string, string>>;
  /** The stream runtime behind the push routes, when asked for. */
  readonly runtime?: StreamRuntime;
  /** The audit chain's head sequence number (0: empty). */
  headSeq(): Promise<number>;
  /** The records after `since` that `select` keeps, once there are at least `n` of them (the server commits audit records in ticks), in chain order. */
  auditedSince(since: number, n: number, select: (record: AuditRecord) => boolean): Promise<AuditRecord[]>;
  close(): Promise<void>;
}

/**
 * Starts the server of `spec` at `now` with a key for each of `roles` (created by the local
 * operator, no key cache so revocations apply at once), and the stream runtime with `stream`.
 *
 * @example
 * const server = await securedServer(spec, Date.parse('2026-11-28T12:00:00Z'), ['analyst'], { stream: true });
 */
export async function securedServer(spec: ProjectSpec, now: number, roles: readonly string[], options: { readonly stream?: boolean } = {}): Promise<SecuredServer> {
  const env = await tempPlatform(spec, now);
  const operator = { name: 'cli:test', roles: ['local-operator'], origin: 'local' };
  const keys: Record<string, string> = {};
  for (const role of roles) keys[role] = (await createApiKey(env.platform.metadata, { principal: `${role}-svc`, roles: [role] }, operator, env.clock.now)).token;
  const runtime = options.stream ? await startStreamRuntime(env.platform, { project: () => env.project, commitIntervalMs: 3_600_000 }) : undefined;
  const app = await createServer(env.platform, { ...(runtime ? { stream: runtime.processor, describeStreams: () => ({}) } : {}), keyCacheMs: 0 });
  const headSeq = async () => (await env.platform.metadata.audit.head())?.seq ?? 0;
  return {
    env, app, keys, ...(runtime ? { runtime } : {}), headSeq,
    async auditedSince(since, n, select) {
      let records: AuditRecord[] = [];
      for (let i = 0; i < 500 && records.length < n; i++) {
        if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10));
        records = (await env.platform.metadata.audit.list({ fromSeq: since + 1 })).filter(select);
      }
      return records;
    },
    async close() {
      await app.close();
      await runtime?.close();
      await env.dispose();
    },
  };
}
