/**
 * Where each value of an answer's rows ends in the answer's bytes, recorded by `putRows` as it
 * writes them (see `answerBytes`): a by-product for the serving log, which copies a sampled row's
 * values from those bytes by their ends instead of scanning the bytes for them. One is owned by
 * its caller and reused from answer to answer; it describes the last answer written with it.
 *
 * @example
 * const ends = new RowValueEnds();
 * const bytes = answerBytes(response, undefined, ends);
 * if (bytes !== undefined && ends.rows === response.rows.length) ends.valueEnd(0, 0); // the first row's first value's end
 */
export class RowValueEnds {
  /** The keys every recorded row has, in order (the first row's); a row with other keys is not recorded. */
  keys: readonly string[] = [];
  /** The rows recorded: all of the answer's, or 0 when its rows were not written by `putRows`. */
  rows = 0;
  /** Per row, its `{` in the bytes; -1 when its values' ends are not known (written another way, or a key left out). */
  starts = new Int32Array(64);
  /** Per row `r` and key `k`, at `r * keys.length + k`: where the key's value ends (at the `,` or `}` after it). */
  ends = new Int32Array(64 * 16);

  /** Starts recording `rows` rows with these keys: room made, nothing recorded yet. */
  begin(rows: number, keys: readonly string[]): void {
    this.keys = keys;
    this.rows = 0;
    if (this.starts.length < rows) this.starts = new Int32Array(rows);
    if (this.ends.length < rows * keys.length) this.ends = new Int32Array(rows * keys.length);
  }

  /** Where value `k` of row `r` ends (meaningful when `starts[r] >= 0`). */
  valueEnd(r: number, k: number): number {
    return this.ends[r * this.keys.length + k]!;
  }
}
