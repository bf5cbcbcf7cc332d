import { resolveSetting } from '../../../definitions/index.js';
import type { Source } from '../../../definitions/index.js';
import { ConfigError } from '../../../errors.js';

/** A `natsJetStream` connector's settings, resolved when it starts. */
export interface NatsJetStreamConfig {
  readonly source: string;
  /** Server URLs; may hold credentials (`nats://user:secret@host`): never log them, see `redact`. */
  readonly servers: readonly string[];
  readonly stream: string;
  readonly subject: string;
  readonly durable: string;
  /** Messages handed to one `append` at most. */
  readonly batchSize: number;
  /** Replaces the resolved servers in a message (an error's text): by the `env()` reference, or inline ones without their credentials. */
  readonly redact: (message: string) => string;
}

/** How many messages one `append` takes at most: JetStream's own fetch default is far smaller, a sink's commit is the cost to spread. */
export const NATS_BATCH_SIZE = 1000;

/**
 * Reads a source's `natsJetStream` connector, resolving `env()` settings now (a missing
 * variable is a `ConfigError` naming it). The durable consumer defaults to `sluice_<source>`.
 *
 * @example
 * const config = natsJetStreamConfig(project.sources.get('payments')!); // config.durable === 'sluice_payments'
 */
export function natsJetStreamConfig(source: Source, environment: NodeJS.ProcessEnv = process.env): NatsJetStreamConfig {
  const spec = source.connector;
  if (spec?.kind !== 'natsJetStream') {
    throw new ConfigError('CONFIG_INVALID', `source "${source.name}" has no natsJetStream connector (found ${spec?.kind ?? 'none'}); declare one with natsJetStream({ servers, stream, subject })`);
  }
  const resolved = resolveSetting(spec.servers, `source "${source.name}": connector servers`, environment);
  const servers = resolved.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) {
    throw new ConfigError('CONFIG_INVALID', `source "${source.name}": connector servers is empty; give one or more NATS URLs, e.g. nats://127.0.0.1:4222`);
  }
  // An env() setting is shown by its name; servers written inline lose only their credentials.
  const shown = (text: string): string => (typeof spec.servers === 'string' ? text.replace(/\/\/[^@/]*@/g, '//') : `<env ${spec.servers.name}>`);
  const secrets = [resolved, ...servers].sort((a, b) => b.length - a.length).map((secret) => [secret, shown(secret)] as const);
  return Object.freeze({
    source: source.name,
    servers,
    stream: spec.stream,
    subject: spec.subject,
    durable: spec.durable ?? `sluice_${source.name}`,
    batchSize: NATS_BATCH_SIZE,
    redact: (message: string) => secrets.reduce((text, [secret, replacement]) => text.split(secret).join(replacement), message),
  });
}
