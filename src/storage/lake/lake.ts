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
  /** Removes a staged file that will not be published. */
  discard(stagedPath: string): Promise<void>;
}
