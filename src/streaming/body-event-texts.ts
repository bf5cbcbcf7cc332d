/**
 * The texts of a push body's events exactly as the client sent them (each element of the
 * top-level `"events"` array, without the whitespace around it), in order; undefined when the
 * body is not a JSON object with one such array (the caller has already refused it then).
 * DuckDB re-writes the JSON it extracts (`1e3` becomes `1000.0`), so what a dead letter keeps
 * of a refused event is cut from the body here instead: one pass over the body, on the path of
 * bodies with a refused event only.
 *
 * @example
 * bodyEventTexts('{"events": [{"qty": 1e3}, 7]}'); // ['{"qty": 1e3}', '7']
 */
export function bodyEventTexts(body: string): string[] | undefined {
  let depth = 0;
  let key: string | undefined;
  let lastString: [number, number] | undefined;
  let inEvents = false;
  let start = -1;
  const texts: string[] = [];
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 0x22) {
      const from = i;
      for (i++; i < body.length && body.charCodeAt(i) !== 0x22; i++) if (body.charCodeAt(i) === 0x5c) i++;
      lastString = [from, i + 1];
      if (inEvents && depth === 2 && start < 0) start = from;
      continue;
    }
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (c === 0x3a && depth === 1 && lastString) {
      key = JSON.parse(body.slice(lastString[0], lastString[1])) as string;
      continue;
    }
    if (inEvents && depth === 2 && start < 0 && c !== 0x5d && c !== 0x2c) start = i;
    if (c === 0x7b || c === 0x5b) {
      depth++;
      if (c === 0x5b && depth === 2 && key === 'events') inEvents = true;
    } else if (c === 0x7d || c === 0x5d) {
      if (inEvents && depth === 2 && c === 0x5d) {
        if (start >= 0) texts.push(body.slice(start, trimEnd(body, i)));
        return texts;
      }
      depth--;
    } else if (c === 0x2c && inEvents && depth === 2) {
      texts.push(body.slice(start, trimEnd(body, i)));
      start = -1;
    }
  }
  return undefined;
}

/** The end of the text before `end` without its trailing JSON whitespace. */
function trimEnd(body: string, end: number): number {
  let to = end;
  while (to > 0 && ' \n\r\t'.includes(body[to - 1]!)) to--;
  return to;
}
