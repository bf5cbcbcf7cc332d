import { appendFile, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import { entityKey, int64KeyPart, type Project } from '../../definitions/index.js';
import type { OnlineFeaturesRequest, OnlineFeaturesResponse } from '../../serving/online-features.js';
import { isSampledKey, sampleThreshold } from './sample-key.js';
import { servingLogFile, UNNAMED_SERVICE, type ServedRow } from './served-row.js';

export interface ServingLogOptions {
  /** The platform's data directory: files go under `<dataDir>/serving-log/` (see `served-row.ts`). */
  readonly dataDir: string;
  /** The sample rate of services that declare no `log.sampleRate` and of feature-list requests. Default 0 (off). */
  readonly defaultRate?: number;
  /** Rows held between flushes; past it, rows are dropped and counted, never waited for. Default 10,000. */
  readonly maxBufferedRows?: number;
  /** How often the buffer is appended to the files. Default 250 ms: buffered answers die young, so they cost the GC little. */
  readonly flushIntervalMs?: number;
  /** Where `sluice_serving_log_rows_total` and `sluice_serving_log_dropped_rows_total` are registered. */
  readonly registry?: Registry;
  /** Called when a flush fails (the rows of that flush are counted as dropped). */
  readonly onError?: (error: unknown) => void;
}

/** The sampled serving log of one server process. */
export interface ServingLogWriter {
  /** Takes the sampled rows of one answered request; cheap, synchronous, never blocks on I/O. */
  record(project: Project, request: OnlineFeaturesRequest, response: OnlineFeaturesResponse, requestId: string, servedAt: number): void;
  /** Appends what is buffered now; resolves when it is written. */
  flush(): Promise<void>;
  /** Stops the background flush and writes what is left. */
  close(): Promise<void>;
  /** Rows written and dropped (buffer full or a failed write) since start. */
  readonly stats: { readonly written: number; readonly dropped: number };
}

/** How one service (or the feature-list requests) is sampled, resolved once per applied project. */
interface ServiceLogPlan {
  readonly service: string;
  readonly threshold: number;
  readonly joinKeys: readonly string[];
  /** Per join key, whether it is int64 (its key part is normalized as the lake writes it). */
  readonly int64: readonly boolean[];
}

/** What the rows of one request share, serialized once at flush. */
interface PendingRequest {
  readonly service: string;
  readonly requestId: string;
  readonly servedAt: number;
  readonly asOf: string;
  readonly joinKeys: readonly string[];
  readonly features: readonly string[];
  readonly views: OnlineFeaturesResponse['views'];
  /** Parts of the line, serialized at the first flush of one of its rows. */
  text?: { readonly head: string; readonly time: string; readonly views: string; readonly serialize: RowSerializer };
  /** The file its rows go to, resolved at the first flush of one of them. */
  path?: string;
}

/** A sampled row as buffered: references into the answer. */
interface PendingRow {
  readonly request: PendingRequest;
  readonly entityKey: string;
  readonly row: Readonly<Record<string, unknown>>;
  readonly statuses: readonly string[];
}

const DEFAULT_MAX_BUFFERED = 10_000;

/** A counter by service on `registry`: the one already there when two writers share a registry. */
function counter(registry: Registry, name: string, help: string): Counter<'service'> {
  return (registry.getSingleMetric(name) as Counter<'service'> | undefined) ?? new Counter({ name, help, labelNames: ['service'], registers: [registry] });
}

function planFor(project: Project, request: OnlineFeaturesRequest, defaultThreshold: number, response: OnlineFeaturesResponse): ServiceLogPlan {
  const service = request.service === undefined ? undefined : project.featureServices.find((s) => s.name === request.service);
  const threshold = service?.log === undefined ? defaultThreshold : sampleThreshold(service.log.sampleRate);
  const firstView = Object.keys(response.views)[0];
  const view = project.featureViews.find((v) => v.name === firstView);
  const joinKeys = view?.joinKeys ?? project.requestViews.find((v) => v.name === firstView)?.joinKeys ?? [];
  const types = view?.columnTypes ?? project.featureViews.find((v) => joinKeys.every((k) => v.joinKeys.includes(k)))?.columnTypes ?? {};
  return { service: service?.name ?? UNNAMED_SERVICE, threshold, joinKeys, int64: joinKeys.map((k) => types[k] === 'int64') };
}

/** `JSON.stringify`, with a bigint (an int64 beyond 2^53) as its decimal string; the replacer only when one is there. */
function json(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/** A value as JSON: numbers and strings directly, a bigint as its decimal string, anything else (lists) through `json`. */
function valueJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `"${value.toString()}"`;
  return json(value);
}

/** Writes `"keys":{...},` then, after the request's time, `"values":{...},"statuses":{...}` of one row. */
type RowSerializer = (row: Readonly<Record<string, unknown>>, statuses: readonly string[], time: string, value: typeof valueJson) => string;

/**
 * A serializer for rows of one shape, generated once per (join keys, features): no object is
 * built per row, and names are JSON-quoted into the source, so any name is safe. Status values
 * are the fixed upper-case names of `ValueStatus`, which need no escaping.
 */
function rowSerializer(joinKeys: readonly string[], features: readonly string[]): RowSerializer {
  const part = (names: readonly string[], value: (name: string, i: number) => string) =>
    names.map((name, i) => `${JSON.stringify(JSON.stringify(name))} + ':' + ${value(name, i)}`).join(` + ',' + `) || "''";
  const keys = part(joinKeys, (k) => `value(row[${JSON.stringify(k)}])`);
  const values = part(features, (f) => `value(row[${JSON.stringify(f)}])`);
  const statuses = part(features, (_f, i) => `'"' + statuses[${i}] + '"'`);
  return new Function('row', 'statuses', 'time', 'value', `return '"keys":{' + ${keys} + '}' + time + ',"values":{' + ${values} + '},"statuses":{' + ${statuses} + '}';`) as RowSerializer;
}

const serializers = new Map<string, RowSerializer>();

/** One `ServedRow` line (fields in the contract's order), the request's common parts serialized once. */
function toLine(pending: PendingRow): string {
  const request = pending.request;
  if (request.text === undefined) {
    const views: Record<string, ServedRow['views'][string]> = {};
    for (const [name, v] of Object.entries(request.views)) views[name] = { definitionHash: v.viewHash ?? '', snapshots: v.snapshots };
    const shape = JSON.stringify([request.joinKeys, request.features]);
    let serialize = serializers.get(shape);
    if (!serialize) {
      serialize = rowSerializer(request.joinKeys, request.features);
      if (serializers.size < 1_000) serializers.set(shape, serialize);
    }
    request.text = {
      head: `{"requestId":${JSON.stringify(request.requestId)},"service":${JSON.stringify(request.service)},"entityKey":`,
      time: `,"asOf":${JSON.stringify(request.asOf)},"servedAt":${request.servedAt}`,
      views: `,"views":${json(views)}}`,
      serialize,
    };
  }
  const text = request.text;
  return `${text.head}${JSON.stringify(pending.entityKey)},${text.serialize(pending.row, pending.statuses, text.time, valueJson)}${text.views}`;
}

/** Whether a file's last byte is a newline (or it is empty or absent): after a crash mid-append it is not. */
async function endsClean(path: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return true;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    await handle.read(last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    await handle.close();
  }
}

/**
 * The serving log writer: `record` keeps the rows of sampled entity keys (see `served-row.ts`)
 * in a bounded in-memory buffer; a background flush appends them in batches, one append per
 * file, whole lines only. When the buffer is full, rows are dropped and counted
 * (`sluice_serving_log_dropped_rows_total`): a request never waits for the log. `close` writes
 * what is left. A torn last line left by a crash is ended before the next append, so it stays
 * one unreadable line that readers skip, never glued to a good one.
 *
 * @example
 * const log = servingLogWriter({ dataDir: platform.dataDir, defaultRate: 0.1 });
 * log.record(project, request, response, requestId, Date.now());
 * await log.close();
 */
export function servingLogWriter(options: ServingLogOptions): ServingLogWriter {
  const defaultThreshold = sampleThreshold(options.defaultRate ?? 0);
  const maxBuffered = options.maxBufferedRows ?? DEFAULT_MAX_BUFFERED;
  const plans = new WeakMap<Project, Map<string, ServiceLogPlan>>();
  const stats = { written: 0, dropped: 0 };
  const written = options.registry && counter(options.registry, 'sluice_serving_log_rows_total', 'Served rows appended to the sampled serving log, by service');
  const dropped = options.registry && counter(options.registry, 'sluice_serving_log_dropped_rows_total', 'Sampled served rows dropped because the serving log buffer was full or a write failed, by service');
  const checked = new Set<string>();
  let buffer: PendingRow[] = [];
  let flushing: Promise<void> = Promise.resolve();

  const drop = (service: string, n: number) => {
    stats.dropped += n;
    dropped?.inc({ service }, n);
  };

  const writeBatch = async (batch: PendingRow[]) => {
    const files = new Map<string, { service: string; lines: string[] }>();
    for (const pending of batch) {
      const path = (pending.request.path ??= servingLogFile(options.dataDir, pending.request.service, pending.request.servedAt));
      let file = files.get(path);
      if (!file) files.set(path, (file = { service: pending.request.service, lines: [] }));
      file.lines.push(toLine(pending));
    }
    for (const [path, file] of files) {
      try {
        if (!checked.has(path)) {
          await mkdir(dirname(path), { recursive: true });
          if (!(await endsClean(path))) file.lines.unshift('');
          checked.add(path);
        }
        await appendFile(path, `${file.lines.join('\n')}\n`);
        const n = file.lines.length - (file.lines[0] === '' ? 1 : 0);
        stats.written += n;
        written?.inc({ service: file.service }, n);
      } catch (error) {
        checked.delete(path);
        drop(file.service, file.lines.length);
        options.onError?.(error);
      }
    }
  };

  const flush = () => {
    flushing = flushing.then(async () => {
      if (buffer.length === 0) return;
      const batch = buffer;
      buffer = [];
      await writeBatch(batch);
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 250);
  timer.unref();

  return {
    stats,
    record(project, request, response, requestId, servedAt) {
      // A feature list may name another entity's views than the last one: keyed by its features, as the serving plan is.
      const cacheKey = request.service !== undefined ? `s:${request.service}` : `f:${(request.features ?? []).join(',')}`;
      let byService = plans.get(project);
      if (!byService) plans.set(project, (byService = new Map()));
      let plan = byService.get(cacheKey);
      if (!plan) {
        plan = planFor(project, request, defaultThreshold, response);
        if (byService.size < 1_000) byService.set(cacheKey, plan);
      }
      if (plan.threshold === 0 || plan.joinKeys.length === 0) return;
      let shared: PendingRequest | undefined;
      const rows = response.rows;
      for (let r = 0; r < rows.length; r++) {
        const row = rows[r]!;
        const key = plan.joinKeys.length === 1
          ? String(plan.int64[0] ? int64KeyPart(row[plan.joinKeys[0]!] as string) : row[plan.joinKeys[0]!])
          : entityKey(plan.joinKeys.map((k, i) => (plan.int64[i] ? int64KeyPart(row[k] as string) : (row[k] as string))));
        if (!isSampledKey(key, plan.threshold)) continue;
        if (buffer.length >= maxBuffered) {
          drop(plan.service, 1);
          continue;
        }
        shared ??= { service: plan.service, requestId, servedAt, asOf: response.asOf, joinKeys: plan.joinKeys, features: response.features, views: response.views };
        buffer.push({ request: shared, entityKey: key, row, statuses: response.metadata[r]!.status });
      }
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
    },
  };
}
