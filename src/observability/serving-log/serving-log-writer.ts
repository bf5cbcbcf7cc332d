import type { ErasedSubjects } from '../../compliance/erasure/erased-subjects.js';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Counter, type Registry } from 'prom-client';
import { entityKey, int64KeyPart, type Project } from '../../definitions/index.js';
import type { OnlineFeaturesRequest, OnlineFeaturesResponse } from '../../serving/online-features.js';
import { isSampledKey, sampleThreshold } from './sample-key.js';
import { ChunkPool, LineChunks } from './line-chunks.js';
import { appendAll, endsClean } from './log-file-append.js';
import { answerRowsStart, nextAnswerRow } from './answer-rows.js';
import { writeRequestLine } from './request-line.js';
import { answerValueEnds, ROWS_END, rowsOpening, servedColumns, writeRow, type AnswerValueEnds } from './served-lines.js';
import type { RowValueEnds } from '../../serving/http/value-ends.js';
import { servingLogFile } from './served-row.js';
import { planFor, type ServiceLogPlan } from './service-log-plan.js';
import { DropTally, type ServingLogDropState } from './drop-tally.js';

export interface ServingLogOptions {
  /** The platform's data directory: files go under `<dataDir>/serving-log/` (see `served-row.ts`). */
  readonly dataDir: string;
  /** The sample rate of services that declare no `log.sampleRate` and of feature-list requests. Default 0 (off). */
  readonly defaultRate?: number;
  /** Rows held between flushes; past it, rows are dropped and counted, never waited for. Default 10,000. */
  readonly maxBufferedRows?: number;
  /** How often the buffer is appended to the files. Default 250 ms. */
  readonly flushIntervalMs?: number;
  /** Where `sluice_serving_log_rows_total` and `sluice_serving_log_dropped_rows_total` are registered. */
  readonly registry?: Registry;
  /** Called when a flush fails (the rows of that flush are counted as dropped). */
  readonly onError?: (error: unknown) => void;
  /**
   * Called from the flush path (never on a request): after each flush that dropped rows, with the
   * episode so far (`dropping: true`); after the flush that ends it (every service that dropped rows
   * wrote rows again with none dropped), with its totals (`dropping: false`, `ended: 'written'`);
   * once when the writer is created (`ended: 'started'`, `rows: 0`), so a state left by an earlier
   * process ends; and on `close`, ending an open episode unless its last flush dropped rows
   * (`ended: 'stopped'`). See `drop-tally.ts`.
   */
  readonly onDrops?: (state: ServingLogDropState) => void;
  /**
   * The erasure block list: a row whose entity key is an erased subject's (of an entity whose join
   * keys the row has, as the erasure's purge of the log matches rows) is not written. Reloaded on
   * each flush when it changed (absent: not checked).
   */
  readonly erased?: ErasedSubjects;
}


/** The sampled serving log of one server process. */
export interface ServingLogWriter {
  /**
   * Takes the sampled rows of one answered request; cheap, synchronous, never blocks on I/O.
   * `answer`, when the caller has it, is the UTF-8 of the answer's `JSON.stringify` text (the
   * HTTP answer's bytes, see `answerJson`; not given when a bigint made it differ): the sampled
   * rows' keys and values are copied from it, not serialized again; or that text itself, encoded
   * into one buffer the writer reuses, and only when a row of it is sampled. `ends`, with `answer`'s
   * bytes, is where their rows' values end (`answerBytes` records them): the rows' values are then
   * copied by them, no byte scanned.
   */
  record(project: Project, request: OnlineFeaturesRequest, response: OnlineFeaturesResponse, requestId: string, servedAt: number, answer?: Buffer | string, ends?: RowValueEnds): void;
  /** Whether requests like this one are sampled at all (a rate above 0): only then are the answer's bytes worth handing to `record`. */
  samples(project: Project, request: OnlineFeaturesRequest, response: OnlineFeaturesResponse): boolean;
  /** Appends what is buffered now; resolves when it is written. */
  flush(): Promise<void>;
  /** Stops the background flush, writes what is left and ends an open drop episode unless that last flush dropped rows (see `onDrops`). */
  close(): Promise<void>;
  /** Rows written and dropped (buffer full or a failed write) since start. */
  readonly stats: { readonly written: number; readonly dropped: number };
}

/** The lines of one log file waiting for the next flush. */
interface PendingFile {
  readonly service: string;
  readonly lines: LineChunks;
  rows: number;
  /** The names lines (by id) already in `lines`: each append holds those its rows refer to. */
  readonly columns: Set<string>;
  /** `servedAt` of its first and last request: the period its rows' drop record covers if the append fails. */
  from: number;
  to: number;
  /** The lists of views its requests answered (for that drop record), keyed by their names; and the last request's features (a plan's array: a new one may answer other views). */
  readonly views: Map<string, readonly string[]>;
  features: readonly string[] | undefined;
}

const DEFAULT_MAX_BUFFERED = 10_000;
/** Chunks filled before a flush starts without waiting for the timer (so the pool covers the flush); half of `maxBufferedRows` rows starts one too. */
const FLUSH_AT_CHUNKS = 16;
const HOUR_MS = 3_600_000;
/**
 * A request line's size past which its request's next rows go into a request line of their own
 * (the same request parts): lines stay bounded for readers (DuckDB's `read_ndjson_objects` reads
 * objects of up to 16 MB) whatever the request's size.
 */
const MAX_LINE_BYTES = 1 << 20;

/** A counter by service on `registry`: the one already there when two writers share a registry. */
function counter(registry: Registry, name: string, help: string): Counter<'service'> {
  return (registry.getSingleMetric(name) as Counter<'service'> | undefined) ?? new Counter({ name, help, labelNames: ['service'], registers: [registry] });
}

/** The most the writer's reused buffer for a small answer's UTF-8 grows to. */
const SCRATCH_MAX_BYTES = 256 * 1024;

/**
 * The serving log writer: `record` formats the lines of the sampled entity keys (see
 * `served-row.ts`, `served-lines.ts`) on the request and copies them as UTF-8 into bounded
 * per-file chunks outside the JS heap, so no answer object outlives the request (kept
 * answers were promoted by the garbage collector, the main cost of an earlier writer); a
 * background flush appends each file's chunks with one `writev`, whole lines only. When the buffer is full, rows are dropped and counted
 * (`sluice_serving_log_dropped_rows_total`, once per request; the drops records and `onDrops`,
 * settled on the flush path: see `drop-tally.ts`): a request never waits for the log. `close` writes
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
  const halfBuffered = Math.ceil(maxBuffered / 2);
  const plans = new WeakMap<Project, Map<string, ServiceLogPlan>>();
  const stats = { written: 0, dropped: 0 };
  const written = options.registry && counter(options.registry, 'sluice_serving_log_rows_total', 'Served rows appended to the sampled serving log, by service');
  const dropped = options.registry && counter(options.registry, 'sluice_serving_log_dropped_rows_total', 'Sampled served rows dropped because the serving log buffer was full or a write failed, by service');
  const checked = new Set<string>();
  const pool = new ChunkPool();
  let pending = new Map<string, PendingFile>();
  let bufferedRows = 0;
  let pendingChunks = 0;
  let flushing: Promise<void> = Promise.resolve();
  const drops = new DropTally(options.dataDir, options);
  drops.start();
  const drop = (service: string, n: number, from: number, to: number, views: readonly (readonly string[])[], error?: unknown) => {
    stats.dropped += n;
    dropped?.inc({ service }, n);
    drops.add(service, n, from, to, views, error);
  };

  /** Appends each file's lines; returns the services of the files written. */
  const writeFiles = async (files: Map<string, PendingFile>): Promise<Set<string>> => {
    const wrote = new Set<string>();
    for (const [path, file] of files) {
      try {
        const bytes = file.lines.bytes();
        if (!checked.has(path)) {
          await mkdir(dirname(path), { recursive: true });
          if (!(await endsClean(path))) bytes.unshift(Buffer.from('\n'));
          checked.add(path);
        }
        await appendAll(path, bytes);
        pool.release(file.lines.chunks);
        stats.written += file.rows;
        written?.inc({ service: file.service }, file.rows);
        wrote.add(file.service);
      } catch (error) {
        checked.delete(path);
        drop(file.service, file.rows, file.from, file.to, [...file.views.values()], error);
        options.onError?.(error);
      }
    }
    return wrote;
  };

  const erased = options.erased;
  // The entities whose erased subjects a plan's rows can be: those whose join keys the rows have.
  const subjectsByPlan = new WeakMap<ServiceLogPlan, readonly string[]>();
  const subjectsOf = (project: Project, plan: ServiceLogPlan): readonly string[] | undefined => {
    let subjects = subjectsByPlan.get(plan);
    if (subjects === undefined) subjectsByPlan.set(plan, (subjects = project.entities.filter((e) => e.joinKeys.every((k) => plan.joinKeys.includes(k))).map((e) => e.name)));
    return subjects.length === 0 ? undefined : subjects;
  };
  const refreshErased = () => erased?.refresh().catch((error: unknown) => options.onError?.(error));
  void refreshErased();

  const flush = () => {
    flushing = flushing.then(async () => {
      await refreshErased();
      let wrote = new Set<string>();
      if (pending.size > 0) {
        const files = pending;
        pending = new Map();
        bufferedRows = 0;
        pendingChunks = 0;
        wrote = await writeFiles(files);
      }
      // A failure here must not reject the flush chain (every later flush would then fail with it).
      if (wrote.size > 0 || drops.unsettled) await drops.settle(wrote).catch((error: unknown) => options.onError?.(error));
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.flushIntervalMs ?? 250);
  timer.unref();

  // The UTF-8 of an answer's text, one answer at a time (3 bytes per UTF-16 unit at most): no buffer
  // per answer. It grows up to SCRATCH_MAX_BYTES; a longer text gets a buffer of its own, so one huge
  // answer does not keep its size for the life of the process.
  let scratch = Buffer.allocUnsafeSlow(16 * 1024);
  const utf8 = (text: string): Buffer => {
    const room = 3 * text.length;
    if (room > SCRATCH_MAX_BYTES) return Buffer.from(text);
    if (room > scratch.length) scratch = Buffer.allocUnsafeSlow(room);
    return scratch.subarray(0, scratch.write(text, 0));
  };

  /** Writes the lines of one answer's sampled rows into its file's chunks. */
  const writeLines = (plan: ServiceLogPlan, response: OnlineFeaturesResponse, requestId: string, servedAt: number, given: Buffer | string | undefined, subjects: readonly string[] | undefined, ends: RowValueEnds | undefined) => {
    let answer: Buffer | undefined;
    let byEnds: AnswerValueEnds | undefined;
    let file: PendingFile | undefined;
    let logged = 0;
    // The rows in the current request line, and where its rows start in the file's lines.
    let lineRows = 0;
    let lineStart = 0;
    let full = 0;
    let chunksBefore = 0;
    // Where row `atRow`'s text starts in `answer` (-1: not known, its rows are then serialized one by one).
    let at = -1;
    let atRow = 0;
    const rows = response.rows;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const key = plan.joinKeys.length === 1
        ? String(plan.int64[0] ? int64KeyPart(row[plan.joinKeys[0]!] as string) : row[plan.joinKeys[0]!])
        : entityKey(plan.joinKeys.map((k, i) => (plan.int64[i] ? int64KeyPart(row[k] as string) : (row[k] as string))));
      if (!isSampledKey(key, plan.threshold)) continue;
      if (subjects !== undefined && subjects.some((entity) => erased!.isErased(entity, key))) continue;
      if (bufferedRows >= maxBuffered) {
        full++;
        continue;
      }
      if (file === undefined) {
        if (!(servedAt >= plan.hourStart && servedAt < plan.hourStart + HOUR_MS)) {
          plan.hourStart = Math.floor(servedAt / HOUR_MS) * HOUR_MS;
          plan.path = servingLogFile(options.dataDir, plan.service, servedAt);
        }
        file = pending.get(plan.path);
        if (!file) pending.set(plan.path, (file = { service: plan.service, lines: new LineChunks(pool), rows: 0, columns: new Set(), from: servedAt, to: servedAt, views: new Map(), features: undefined }));
        else if (servedAt > file.to) file.to = servedAt;
        else if (servedAt < file.from) file.from = servedAt;
        // The answered views are looked at only when the plan differs from the last request's (not per request).
        if (file.features !== response.features) {
          file.features = response.features;
          const views = Object.keys(response.views);
          file.views.set(views.join('\n'), views);
        }
        chunksBefore = file.lines.chunks.length;
        const columns = servedColumns(response.features);
        if (!file.columns.has(columns.id)) {
          file.columns.add(columns.id);
          file.lines.reserve(3 * columns.line.length);
          file.lines.text(columns.line);
        }
        writeRequestLine(file.lines, requestId, String(servedAt), response, plan.servicePart, rowsOpening(response.features));
        lineStart = file.lines.written();
        // A text is encoded only once a row of it is sampled.
        if (given !== undefined) answer = typeof given === 'string' ? utf8(given) : given;
        byEnds = typeof given === 'string' ? undefined : answerValueEnds(ends, answer, plan, response);
        if (answer !== undefined && byEnds === undefined) at = answerRowsStart(answer, response);
      }
      // By the value ends, a row starts where they say (not recorded: written from its object); else found after the last one copied.
      if (byEnds !== undefined) at = byEnds.ends.starts[r]!;
      else while (at >= 0 && atRow < r) at = nextAnswerRow(answer!, response, atRow++, at);
      // A request line past MAX_LINE_BYTES ends, and the request's next rows go on in a request line of their own.
      if (lineRows > 0 && file.lines.written() - lineStart > MAX_LINE_BYTES) {
        file.lines.reserve(ROWS_END.length);
        file.lines.copy(ROWS_END);
        writeRequestLine(file.lines, requestId, String(servedAt), response, plan.servicePart, rowsOpening(response.features));
        lineStart = file.lines.written();
        lineRows = 0;
      }
      const end = writeRow(file.lines, plan, response, r, key, lineRows++ === 0, at >= 0 ? answer : undefined, at, byEnds);
      logged++;
      // The next row's text starts after the `,` that ends this one.
      if (end >= 0) {
        at = end + 1;
        atRow = r + 1;
      }
      file.rows++;
      bufferedRows++;
    }
    if (full > 0) drop(plan.service, full, servedAt, servedAt, [Object.keys(response.views)]);
    if (file === undefined) return;
    file.lines.reserve(ROWS_END.length);
    file.lines.copy(ROWS_END);
    // Enough chunks filled, or half the rows the buffer holds: a flush starts without waiting for the
    // timer (so the pool covers the flush, and a server answering faster than the timer flushes, e.g.
    // 400 answers of 100 rows a second, does not fill the buffer and drop rows between two ticks).
    const filled = pendingChunks;
    pendingChunks += file.lines.chunks.length - chunksBefore;
    if ((filled < FLUSH_AT_CHUNKS && pendingChunks >= FLUSH_AT_CHUNKS) || (bufferedRows - logged < halfBuffered && bufferedRows >= halfBuffered)) void flush();
  };
  // `samples` then `record` ask for the plan of the same request: the last answer is kept.
  let last: { project: Project; request: OnlineFeaturesRequest; plan: ServiceLogPlan } | undefined;
  const planOf = (project: Project, request: OnlineFeaturesRequest, response: OnlineFeaturesResponse): ServiceLogPlan => {
    if (last !== undefined && last.request === request && last.project === project) return last.plan;
    // A feature list may name another entity's views than the last one: keyed by its features, as the serving plan is.
    const cacheKey = request.service !== undefined ? `s:${request.service}` : `f:${(request.features ?? []).join(',')}`;
    let byService = plans.get(project);
    if (!byService) plans.set(project, (byService = new Map()));
    let plan = byService.get(cacheKey);
    if (!plan) {
      plan = planFor(project, request, defaultThreshold, response);
      if (byService.size < 1_000) byService.set(cacheKey, plan);
    }
    last = { project, request, plan };
    return plan;
  };

  return {
    stats,
    samples(project, request, response) {
      const plan = planOf(project, request, response);
      return plan.threshold > 0 && plan.joinKeys.length > 0;
    },
    record(project, request, response, requestId, servedAt, answer, ends) {
      const plan = planOf(project, request, response);
      if (plan.threshold === 0 || plan.joinKeys.length === 0) return;
      writeLines(plan, response, requestId, servedAt, answer, erased === undefined ? undefined : subjectsOf(project, plan), ends);
    },
    flush,
    async close() {
      clearInterval(timer);
      await flush();
      drops.stop();
    },
  };
}
