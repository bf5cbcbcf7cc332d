import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { currentLogger } from './log.js';

/** Where spans go when tracing is on. */
export interface TracingConfig {
  /** The OTLP/HTTP traces endpoint, e.g. `http://collector:4318/v1/traces`. */
  readonly url: string;
  readonly serviceName: string;
}

/**
 * Tracing is configured as OpenTelemetry's own SDKs are: on when `OTEL_EXPORTER_OTLP_ENDPOINT`
 * (the collector's base URL, `/v1/traces` appended) or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the
 * full URL) is set, or `OTEL_TRACES_EXPORTER=otlp` (then `http://localhost:4318/v1/traces`); off
 * with `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`, and off when nothing is set.
 * The service name is `OTEL_SERVICE_NAME`, default `sluice`.
 *
 * @example
 * tracingConfigFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318' }); // { url: 'http://otel:4318/v1/traces', serviceName: 'sluice' }
 */
export function tracingConfigFromEnv(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase();
  if (exporter === 'none' || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const full = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (!full && !base && exporter !== 'otlp') return undefined;
  const url = full || `${(base || 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
  return { url, serviceName: env.OTEL_SERVICE_NAME?.trim() || 'sluice' };
}

/** A started tracer provider: `shutdown` exports what is buffered, then stops. */
export interface Tracing {
  shutdown(): Promise<void>;
}

/** True while a provider this module started is registered: spans are made only then. */
let enabled = false;

/**
 * Starts tracing when {@link tracingConfigFromEnv} says so: a tracer provider exporting spans in
 * batches over OTLP/HTTP (JSON), registered globally. With nothing configured it returns
 * undefined and loads nothing: no SDK, no provider, no exporter, and {@link startJobSpan} and
 * {@link startRequestSpan} return undefined at once.
 *
 * @example
 * const tracing = await startTracing(process.env);
 * try { await serve(); } finally { await tracing?.shutdown(); }
 */
export async function startTracing(env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  const config = tracingConfigFromEnv(env);
  if (config === undefined || enabled) return undefined;
  // Loaded only here, so a process that does not trace never loads the SDK.
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/exporter-trace-otlp-http'), import('@opentelemetry/resources'),
  ]);
  const exporter = new OTLPTraceExporter({ url: config.url });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1_000 })],
  });
  trace.setGlobalTracerProvider(provider);
  enabled = true;
  currentLogger().info({ url: config.url, service: config.serviceName }, 'exporting traces over OTLP/HTTP');
  return {
    async shutdown() {
      enabled = false;
      try {
        await provider.shutdown();
      } catch (error) {
        currentLogger().warn({ err: error }, 'traces could not all be exported at shutdown');
      } finally {
        trace.disable();
      }
    },
  };
}

/** Whether spans are being made (a provider was started). */
export function tracingEnabled(): boolean {
  return enabled;
}

const tracer = () => trace.getTracer('sluice');

/**
 * The span of one job run (`job <name>`), with `sluice.job` and `sluice.run_id`; undefined when
 * tracing is off. End it with {@link endJobSpan}.
 */
export function startJobSpan(job: string, runId: string, attributes: Attributes = {}): Span | undefined {
  if (!enabled) return undefined;
  return tracer().startSpan(`job ${job}`, { kind: SpanKind.INTERNAL, attributes: { 'sluice.job': job, 'sluice.run_id': runId, ...attributes } }, ROOT_CONTEXT);
}

/** Ends a job's span with its row counts (`sluice.rows`: rows in, when the job reports them) or its error. */
export function endJobSpan(span: Span | undefined, outcome: { stats?: Record<string, unknown>; error?: Error }): void {
  if (span === undefined) return;
  const rows = outcome.stats?.accepted ?? outcome.stats?.rows;
  if (typeof rows === 'number') span.setAttribute('sluice.rows', rows);
  if (typeof outcome.stats?.rejected === 'number') span.setAttribute('sluice.rows_rejected', outcome.stats.rejected);
  if (outcome.error) {
    span.recordException({ name: outcome.error.name, message: outcome.error.message });
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
  } else {
    span.setStatus({ code: SpanStatusCode.OK });
  }
  span.end();
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The context of a W3C `traceparent` header, so a request's span joins its caller's trace. */
function parentContext(traceparent: string | undefined): Context {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent.trim());
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true });
}

/**
 * The span of one HTTP request (`POST /v1/features/online`), a server span with the method,
 * route and `sluice.request_id`, child of the caller's `traceparent` when it sends one;
 * undefined when tracing is off. Routes add `sluice.service` and `sluice.entity_count`.
 */
export function startRequestSpan(method: string, route: string, requestId: string, traceparent: string | undefined): Span | undefined {
  if (!enabled) return undefined;
  return tracer().startSpan(`${method} ${route}`, {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': method, 'http.route': route, 'sluice.request_id': requestId },
  }, parentContext(traceparent));
}

/** Ends a request's span with its status code (5xx: an error). */
export function endRequestSpan(span: Span | undefined, statusCode: number): void {
  if (span === undefined) return;
  span.setAttribute('http.response.status_code', statusCode);
  if (statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
