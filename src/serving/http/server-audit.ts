import type { FastifyInstance } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import { AUDIT_FLUSH_MS, auditBuffer, type AuditBuffer } from '../../compliance/access/audit-buffer.js';
import type { AuditSink } from '../../compliance/masking/audit-read.js';
import { AdapterError } from '../../errors.js';

/** The audit buffers of the servers that registered their metrics on each registry. */
const buffersOn = new WeakMap<Registry, Set<AuditBuffer>>();
import type { Platform } from '../../platform.js';

/** The health condition of a server whose audit records cannot be committed. */
export const AUDIT_FAILING = 'audit_failing';

/** The subject of `server`'s condition `audit_failing` (each server reports its own; see `gone-servers.ts`). */
export function auditSubject(server: string): string {
  return `audit:${server}`;
}

/** A server's audit: the group-committed buffer, the sink of classified reads, and its metrics. */
export interface ServerAudit {
  readonly buffer: AuditBuffer;
  /** Evidence of a classified read: queued, or refused (ADAPTER_FAILED, 503) while commits fail. */
  readonly classifiedRead: AuditSink;
  registerMetrics(registry: Registry): void;
  /** Once the server holds its name: ends what a previous run under that name left firing. */
  nameHeld(): void;
}

/**
 * A server's audit buffer (see `auditBuffer`) made visible: while its commits fail, the health
 * condition `audit_failing` of `audit:<server>` fires (severity error: `sluice status` is
 * unhealthy, alerts go out) with the error, ended by the next good commit, the server's next
 * start under its name, or, once it no longer runs, another server's sweep (`gone-servers.ts`); `sluice_audit_failing` (0/1) and `sluice_audit_dropped_records` are in
 * /metrics. Classified reads are refused meanwhile: serving a classified value whose audit record
 * is not written would break the audit promise; reads of nothing classified go on (their
 * access records, if any, wait in the buffer).
 *
 * @example
 * const audit = startServerAudit(app, platform, 'web-1');
 */
export function startServerAudit(app: FastifyInstance, platform: Platform, server: string): ServerAudit {
  const subject = auditSubject(server);
  const health = platform.metadata.health;
  const condition = (firing: boolean, reason: string) => health.report({
    kind: AUDIT_FAILING, subject, firing, severity: 'error',
    message: firing
      ? `server "${server}" cannot write its audit records (${reason}); they are queued and retried, and classified reads are refused (503) until they are written: make .sluice/metadata.db writable (free disk space, check its permissions, stop what holds it locked)`
      : `server "${server}" writes its audit records again`,
    ...(firing ? { details: { error: reason } } : {}),
  }, platform.now());
  // The health store is metadata.db too: when it fails with the audit, the condition is re-tried on
  // every failing tick, and the recovery is reported only after the firing did, so the episode
  // always reaches the health history.
  let episode: string | undefined;
  let recorded = false;
  let reportError: string | undefined;
  let reporting: Promise<void> = Promise.resolve();
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const settle = (): void => {
    reporting = reporting.then(async () => {
      try {
        if (episode !== undefined && !recorded) {
          await condition(true, episode);
          recorded = true;
        }
        if (recorded && !buffer.failing()) {
          await condition(false, '');
          recorded = false;
          episode = undefined;
        }
        reportError = undefined;
      } catch (failed) {
        reportError = failed instanceof Error ? failed.message : String(failed);
        app.log.error({ err: failed }, 'audit_failing: recording the health condition failed; retrying');
        // While the audit fails its ticks re-try; once it commits again, this timer does.
        if (!buffer.failing() && !closed) retry ??= setTimeout(() => { retry = undefined; settle(); }, AUDIT_FLUSH_MS * 20);
      }
    });
  };
  const buffer = auditBuffer(platform.metadata.audit, {
    onError: (error) => {
      app.log.error({ err: error }, 'audit commit failed; retrying at the next tick');
      if (!recorded) settle();
    },
    onFailing: (firing, error) => {
      if (firing) episode = error instanceof Error ? error.message : String(error);
      settle();
    },
    onLost: (records, error) => {
      const reason = error instanceof Error ? error.message : String(error);
      const told = `server "${server}" closed with ${records} audit records it could not write (${reason}); they are not in the audit trail (counted in sluice_audit_dropped_records)`;
      app.log.error({ records, err: error }, told);
      process.stderr.write(`sluice: ${told}\n`);
    },
  });
  app.addHook('onClose', async () => {
    await buffer.close();
    closed = true;
    if (retry) clearTimeout(retry);
    await reporting;
  });
  /** Where to see the failure, as it stands: the recorded condition, or why it is not recorded. */
  const seeWhere = (): string => (recorded
    ? `see the condition ${AUDIT_FAILING} of ${subject} in "sluice status"`
    : `the condition ${AUDIT_FAILING} could not be recorded either (${reportError ?? episode ?? 'metadata.db fails'}; it is retried with every commit): /metrics shows sluice_audit_failing 1 and the server log the error; make .sluice/metadata.db writable`);
  return {
    buffer,
    classifiedRead: (event, at) => {
      if (buffer.failing()) throw new AdapterError('ADAPTER_FAILED', `the audit trail cannot be written, so classified values are not served (a read of them must leave its audit record); retry later; ${seeWhere()}`);
      buffer.record(event, at);
    },
    nameHeld: () => {
      if (!buffer.failing()) condition(false, '').catch((failed: unknown) => app.log.error({ err: failed }, 'audit_failing: ending a previous run\'s condition failed'));
    },
    registerMetrics(registry) {
      // Servers may share one registry (a process serving twice): the gauges read every server's buffer on it.
      const buffers = buffersOn.get(registry) ?? new Set<AuditBuffer>();
      buffersOn.set(registry, buffers);
      buffers.add(buffer);
      if (registry.getSingleMetric('sluice_audit_failing')) return;
      new Gauge({ name: 'sluice_audit_failing', help: '1 while a server cannot commit its audit records (classified reads are refused), else 0', registers: [registry], collect() {
        this.set([...buffers].some((b) => b.failing()) ? 1 : 0);
      } });
      new Gauge({ name: 'sluice_audit_dropped_records', help: 'Audit records the servers dropped after their queue of uncommitted records was full', registers: [registry], collect() {
        let dropped = 0;
        for (const b of buffers) dropped += b.dropped();
        this.set(dropped);
      } });
    },
  };
}
