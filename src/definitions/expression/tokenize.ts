/**
 * Tokens of a row expression (the SQL subset of `docs/row-transforms.md`): numbers, strings,
 * identifiers (bare or `"quoted"`), keywords and operators, each with its position (0-based
 * offset in the text) so errors can point at it.
 */
export type Token =
  | { readonly t: 'num'; readonly text: string; readonly int: boolean; readonly at: number }
  | { readonly t: 'str'; readonly value: string; readonly at: number }
  | { readonly t: 'id'; readonly name: string; readonly quoted: boolean; readonly at: number }
  | { readonly t: 'op'; readonly op: string; readonly at: number }
  | { readonly t: 'end'; readonly at: number };

/** An error at a position of the expression text. */
export class ExpressionError extends Error {
  constructor(
    message: string,
    readonly at: number,
  ) {
    super(message);
  }
}

const OPERATORS = ['::', '<>', '!=', '<=', '>=', '==', '||', '+', '-', '*', '/', '%', '=', '<', '>', '(', ')', ',', '.'];

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && text[i + 1] === '-') throw new ExpressionError('comments are not allowed in an expression', i);
    if (c === '/' && text[i + 1] === '*') throw new ExpressionError('comments are not allowed in an expression', i);
    const at = i;
    const number = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (number) {
      const raw = number[0];
      if (/[A-Za-z_]/.test(text[i + raw.length] ?? '')) throw new ExpressionError(`"${raw}${text[i + raw.length]}" is not a number`, at);
      tokens.push({ t: 'num', text: raw, int: /^\d+$/.test(raw), at });
      i += raw.length;
      continue;
    }
    if (c === "'" || c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new ExpressionError(c === "'" ? 'unterminated string' : 'unterminated quoted name', at);
        if (text[i] === c) {
          if (text[i + 1] === c) {
            value += c;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push(c === "'" ? { t: 'str', value, at } : { t: 'id', name: value, quoted: true, at });
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (word) {
      tokens.push({ t: 'id', name: word[0], quoted: false, at });
      i += word[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i));
    if (op === undefined) throw new ExpressionError(c === ';' ? 'an expression is one SQL expression: ";" is not allowed' : `unexpected character "${c}"`, at);
    tokens.push({ t: 'op', op, at });
    i += op.length;
  }
  tokens.push({ t: 'end', at: text.length });
  return tokens;
}
