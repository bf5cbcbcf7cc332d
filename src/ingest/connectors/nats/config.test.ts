import { describe, expect, it } from 'vitest';
import { env, natsJetStream, type Setting, type Source } from '../../../definitions/index.js';
import { ConfigError } from '../../../errors.js';
import { natsJetStreamConfig } from './config.js';
import { startNatsJetStream } from './nats-jetstream-connector.js';
import { retryDelayMs } from '../retry-delay.js';

const source = (servers: Setting, durable?: string): Source => ({
  name: 'payments',
  kind: 'stream',
  schema: { payment_id: 'string', ts: 'timestamp' },
  timestamp: 'ts',
  connector: natsJetStream({ servers, stream: 'PAYMENTS', subject: 'payments.>', ...(durable === undefined ? {} : { durable }) }),
  hash: 'test',
});
const noSink = { position: () => Promise.resolve(undefined), append: () => Promise.reject(new Error('unused')) };

describe('natsJetStreamConfig', () => {
  it('resolves env() settings when asked, splits the server list and names the durable consumer after the source', () => {
    const config = natsJetStreamConfig(source(env('NATS_URL')), { NATS_URL: 'nats://a:4222, nats://b:4222' });
    expect(config).toMatchObject({ source: 'payments', servers: ['nats://a:4222', 'nats://b:4222'], stream: 'PAYMENTS', subject: 'payments.>', durable: 'sluice_payments' });
    expect(natsJetStreamConfig(source('nats://a:4222', 'mine')).durable).toBe('mine');
  });

  it('a missing environment variable is a ConfigError naming it, raised when the connector starts', async () => {
    expect(() => natsJetStreamConfig(source(env('SLUICE_NO_SUCH_NATS_URL')), {})).toThrow(/SLUICE_NO_SUCH_NATS_URL/);
    const started = startNatsJetStream(source(env('SLUICE_NO_SUCH_NATS_URL')), noSink, {});
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toThrow(/environment variable SLUICE_NO_SUCH_NATS_URL, which is not set/);
  });

  it('redacts the resolved servers, whole or one of the list: by the variable name, or inline without credentials', () => {
    const config = natsJetStreamConfig(source(env('NATS_URL')), { NATS_URL: 'nats://u:pw@a:4222,nats://u:pw@b:4222' });
    expect(config.redact('could not reach nats://u:pw@b:4222 (of nats://u:pw@a:4222,nats://u:pw@b:4222)')).toBe('could not reach <env NATS_URL> (of <env NATS_URL>)');
    const inline = natsJetStreamConfig(source('nats://u:pw@a:4222,nats://b:4222'));
    expect(inline.redact('cannot connect to nats://u:pw@a:4222,nats://b:4222')).toBe('cannot connect to nats://a:4222,nats://b:4222');
  });

  it('refuses a source without a natsJetStream connector', () => {
    const { connector: _, ...plain } = source('nats://a:4222');
    expect(() => natsJetStreamConfig(plain as Source)).toThrow(/has no natsJetStream connector/);
  });
});

describe('retryDelayMs', () => {
  it('grows exponentially from 250 ms with jitter within the step, capped at 30 s', () => {
    expect([0, 1, 2].map((a) => retryDelayMs(a, () => 1))).toEqual([250, 500, 1000]);
    expect([0, 1, 2].map((a) => retryDelayMs(a, () => 0))).toEqual([125, 250, 500]);
    expect(retryDelayMs(50, () => 1)).toBe(30_000);
    expect(retryDelayMs(50, () => 0)).toBe(15_000);
  });
});
