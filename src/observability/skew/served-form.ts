import { listShape, type ColumnType } from '../../definitions/index.js';
import { toIso } from '../../time/index.js';

/**
 * A feature value in the form the server answers it and the serving log records it, for one
 * exact comparison of online and offline values: JSON (so `NaN` and `±Infinity` are `null` and
 * `-0` is `0`, as every answer has them), float64 numbers exact (`JSON.stringify` writes the
 * shortest text that reads back as the same double, so equal text is equal bits), int64 as a
 * decimal string with all its digits (whether given as a number, a bigint or a string),
 * timestamps as ISO-8601 UTC with ms, float32 vector elements as the doubles they widen to.
 *
 * @example
 * servedJson(9007199254740993n, 'int64'); // '9007199254740993'
 * servedJson(Date.parse('2026-01-01T00:00:00Z'), 'timestamp'); // '2026-01-01T00:00:00.000Z'
 */
export function servedJson(value: unknown, valueType: ColumnType | string): unknown {
  if (value === null || value === undefined) return null;
  const shape = listShape(valueType);
  if (shape !== undefined) return Array.isArray(value) ? value.map((element: unknown) => servedJson(element, shape.element === 'float32' ? 'float64' : shape.element)) : value;
  if (valueType === 'int64') return int64Text(value);
  if (valueType === 'timestamp' && typeof value === 'number') return Number.isFinite(value) ? toIso(value) : null;
  if (typeof value === 'number') return Number.isFinite(value) ? (Object.is(value, -0) ? 0 : value) : null;
  return value;
}

/** The served JSON text of a value (see `servedJson`): two values are equal as served when their texts are. */
export function servedForm(value: unknown, valueType: ColumnType | string): string {
  return JSON.stringify(servedJson(value, valueType));
}

/** Whether a feature's values are numbers whose differences are meaningful. */
export function isNumeric(valueType: ColumnType | string): boolean {
  return valueType === 'int64' || valueType === 'float64';
}

/**
 * The absolute difference of two served values of a numeric feature (int64 subtracted exactly,
 * then rounded); undefined when either is null or not a finite number.
 *
 * @example
 * absoluteDifference('9007199254740993', 9007199254740992, 'int64'); // 1
 */
export function absoluteDifference(online: unknown, offline: unknown, valueType: ColumnType | string): number | undefined {
  const a = servedJson(online, valueType);
  const b = servedJson(offline, valueType);
  if (a === null || b === null) return undefined;
  if (valueType === 'int64' && typeof a === 'string' && typeof b === 'string' && /^-?\d+$/.test(a) && /^-?\d+$/.test(b)) {
    const d = BigInt(a) - BigInt(b);
    return Number(d < 0n ? -d : d);
  }
  if (typeof a !== 'number' || typeof b !== 'number') return undefined;
  return Math.abs(a - b);
}

function int64Text(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value).toString() : value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value).toString();
  return value;
}
