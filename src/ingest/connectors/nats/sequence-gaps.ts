/** Stream sequences `from` to `to` (inclusive) that a consumer did not deliver: other subjects' messages, or removed ones. */
export interface SequenceJump {
  readonly from: number;
  readonly to: number;
}

/**
 * Which undelivered sequences were removed from the stream (by its limits: age, count, size)
 * before Sluice read them, given the oldest sequence the stream still holds (`firstSeq`). A
 * filtered consumer skips other subjects' sequences, so a jump alone is no loss; the part of a
 * jump below `firstSeq` is gone, and any of the source's events in it are lost. Jumps are in
 * delivery order; the ranges returned are too, merged when adjacent.
 *
 * @example
 * removedSequences([{ from: 4, to: 8 }, { from: 12, to: 12 }], 10); // [{ from: 4, to: 8 }]
 */
export function removedSequences(jumps: readonly SequenceJump[], firstSeq: number): SequenceJump[] {
  const removed: SequenceJump[] = [];
  for (const jump of jumps) {
    if (jump.from >= firstSeq) continue;
    const to = Math.min(jump.to, firstSeq - 1);
    const last = removed.at(-1);
    if (last !== undefined && last.to + 1 >= jump.from) removed[removed.length - 1] = { from: last.from, to: Math.max(last.to, to) };
    else removed.push({ from: jump.from, to });
  }
  return removed;
}
