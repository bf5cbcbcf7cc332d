/**
 * A Postgres log sequence number (`16/B374D848`) as a bigint byte offset in the WAL, so LSNs
 * compare and subtract exactly (they exceed 2^53).
 *
 * @example
 * parseLsn('16/B374D848') > parseLsn('16/B374D800'); // true
 */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (match === null) throw new Error(`"${text}" is not a Postgres LSN (like 16/B374D848)`);
  return (BigInt(`0x${match[1]}`) << 32n) + BigInt(`0x${match[2]}`);
}

/** The text form Postgres uses for an LSN: `16/B374D848`. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** True for text that reads as an LSN. */
export function isLsn(text: string): boolean {
  return /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/.test(text);
}
