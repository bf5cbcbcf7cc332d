/** A file in the lake, as found on disk. */
export interface LakeFile {
  /** Lake-relative path, as snapshots list it (`<source>/<name>.parquet`, `<source>/_staging/<name>.parquet`). */
  readonly file: string;
  readonly source: string;
  /** True for a staged file (never published). */
  readonly staging: boolean;
  readonly bytes: number;
  readonly modifiedAt: number;
}

/**
 * The lake: immutable Parquet data files per source. A file becomes visible only when a
 * snapshot that lists it is committed in the metadata store; until then it is invisible, so a
 * crash leaves at most an unreferenced file, never a half-visible one.
 */
export interface Lake {
  /** A fresh temporary path to write a data file of `source` to. */
  stagingPath(source: string): string;
  /** Makes a staged file durable under its final name (fsync, rename) and returns its lake-relative path. */
  publish(source: string, stagedPath: string, name: string): Promise<string>;
  /** The absolute path of a lake-relative file. */
  resolve(file: string): string;
  /** Removes a staged file that will not be published (no error if it is gone). */
  discard(stagedPath: string): Promise<void>;
  /** Removes a lake-relative file no snapshot lists (no error if it is gone). */
  remove(file: string): Promise<void>;
  /** Every data file and staged file in the lake. */
  listFiles(): Promise<LakeFile[]>;
}
