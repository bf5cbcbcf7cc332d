import { ExpressionError, tokenize, type Token } from './tokenize.js';

/** The types an expression's values can have: the column types, plus dates and the null literal. */
export type ExprType = 'int64' | 'float64' | 'string' | 'bool' | 'timestamp' | 'date' | 'null';

/** A parsed row expression; `at` is the node's offset in the text. */
export type Expr =
  | { readonly k: 'lit'; readonly type: ExprType; readonly sql: string; readonly at: number }
  | { readonly k: 'col'; readonly name: string; readonly at: number }
  | { readonly k: 'neg' | 'not'; readonly arg: Expr; readonly at: number }
  | { readonly k: 'bin'; readonly op: string; readonly l: Expr; readonly r: Expr; readonly at: number }
  | { readonly k: 'isnull'; readonly arg: Expr; readonly not: boolean; readonly at: number }
  | { readonly k: 'distinct'; readonly l: Expr; readonly r: Expr; readonly not: boolean; readonly at: number }
  | { readonly k: 'in'; readonly arg: Expr; readonly list: readonly Expr[]; readonly not: boolean; readonly at: number }
  | { readonly k: 'between'; readonly arg: Expr; readonly lo: Expr; readonly hi: Expr; readonly not: boolean; readonly at: number }
  | { readonly k: 'like'; readonly arg: Expr; readonly pattern: Expr; readonly escape?: string; readonly not: boolean; readonly ci: boolean; readonly at: number }
  | { readonly k: 'case'; readonly operand?: Expr; readonly whens: readonly { when: Expr; then: Expr }[]; readonly otherwise?: Expr; readonly at: number }
  | { readonly k: 'cast'; readonly arg: Expr; readonly to: ExprType; readonly at: number }
  | { readonly k: 'call'; readonly name: string; readonly args: readonly Expr[]; readonly at: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'is', 'null', 'true', 'false', 'in', 'between', 'like', 'ilike', 'case', 'when', 'then', 'else', 'end', 'cast', 'as', 'select', 'exists', 'from', 'interval']);

/** Type names a CAST may use, and the type each gives. */
const CAST_TYPES: Readonly<Record<string, ExprType>> = {
  bigint: 'int64', int8: 'int64', int64: 'int64', integer: 'int64', int: 'int64', int4: 'int64', smallint: 'int64',
  double: 'float64', float8: 'float64', float64: 'float64', float: 'float64', real: 'float64',
  varchar: 'string', text: 'string', string: 'string',
  boolean: 'bool', bool: 'bool',
  timestamp: 'timestamp', date: 'date',
};

const COMPARISONS = new Set(['=', '==', '<>', '!=', '<', '<=', '>', '>=']);

/**
 * How deeply an expression may nest (parentheses, calls, operators in a chain): the parser and the
 * checker recurse once per level, so a deeper one would overflow the stack instead of being refused.
 */
const MAX_DEPTH = 100;

const INT64_MAX = 2n ** 63n - 1n;

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly tokens: readonly Token[]) {}

  private deeper(at: number): void {
    if (++this.depth > MAX_DEPTH) throw new ExpressionError(`the expression is nested too deeply (more than ${MAX_DEPTH} levels of parentheses, calls or chained operators); split it into simpler expressions or derived columns`, at);
  }
  private nested<T>(at: number, parse: () => T): T {
    this.deeper(at);
    try {
      return parse();
    } finally {
      this.depth--;
    }
  }

  private peek(): Token {
    return this.tokens[this.i]!;
  }
  private next(): Token {
    return this.tokens[this.i++]!;
  }
  private isKeyword(word: string, token = this.peek()): boolean {
    return token.t === 'id' && !token.quoted && token.name.toLowerCase() === word;
  }
  private isOp(op: string, token = this.peek()): boolean {
    return token.t === 'op' && token.op === op;
  }
  private acceptKeyword(word: string): boolean {
    if (!this.isKeyword(word)) return false;
    this.i++;
    return true;
  }
  private expectKeyword(word: string, context: string): void {
    if (!this.acceptKeyword(word)) throw new ExpressionError(`expected ${word.toUpperCase()} ${context}, found ${describe(this.peek())}`, this.peek().at);
  }
  private expectOp(op: string, context: string): void {
    if (!this.isOp(op)) throw new ExpressionError(`expected "${op}" ${context}, found ${describe(this.peek())}`, this.peek().at);
    this.i++;
  }

  parseAll(): Expr {
    const expr = this.or();
    if (this.peek().t !== 'end') throw new ExpressionError(`unexpected ${describe(this.peek())} after the expression`, this.peek().at);
    return expr;
  }

  private binaryLevel(ops: (t: Token) => string | undefined, lower: () => Expr): Expr {
    let left = lower();
    const depth = this.depth;
    for (let op = ops(this.peek()); op !== undefined; op = ops(this.peek())) {
      const at = this.next().at;
      this.deeper(at);
      left = { k: 'bin', op, l: left, r: lower(), at };
    }
    this.depth = depth;
    return left;
  }

  private or = (): Expr => this.binaryLevel((t) => (this.isKeyword('or', t) ? 'OR' : undefined), this.and);
  private and = (): Expr => this.binaryLevel((t) => (this.isKeyword('and', t) ? 'AND' : undefined), this.not);

  private not = (): Expr => {
    const at = this.peek().at;
    if (this.acceptKeyword('not')) return { k: 'not', arg: this.nested(at, this.not), at };
    return this.is();
  };

  private is(): Expr {
    let arg = this.comparison();
    const depth = this.depth;
    while (this.isKeyword('is')) {
      const at = this.next().at;
      this.deeper(at);
      const not = this.acceptKeyword('not');
      if (this.acceptKeyword('distinct')) {
        this.expectKeyword('from', 'in IS [NOT] DISTINCT FROM');
        arg = { k: 'distinct', l: arg, r: this.comparison(), not, at };
        continue;
      }
      this.expectKeyword('null', 'after IS (write IS NULL, IS NOT NULL or IS [NOT] DISTINCT FROM)');
      arg = { k: 'isnull', arg, not, at };
    }
    this.depth = depth;
    return arg;
  }

  private comparison(): Expr {
    const left = this.predicate();
    const token = this.peek();
    if (token.t === 'op' && COMPARISONS.has(token.op)) {
      this.i++;
      const op = token.op === '==' ? '=' : token.op === '!=' ? '<>' : token.op;
      return { k: 'bin', op, l: left, r: this.predicate(), at: token.at };
    }
    return left;
  }

  private predicate(): Expr {
    const arg = this.concat();
    const at = this.peek().at;
    const not = this.isKeyword('not') && ['in', 'between', 'like', 'ilike'].some((w) => this.isKeyword(w, this.tokens[this.i + 1]));
    if (not) this.i++;
    if (this.acceptKeyword('in')) {
      this.expectOp('(', 'after IN');
      if (this.isKeyword('select')) throw new ExpressionError('subqueries are not allowed in an expression', this.peek().at);
      const list = [this.concat()];
      while (this.isOp(',')) {
        this.i++;
        list.push(this.concat());
      }
      this.expectOp(')', 'to close the IN list');
      return { k: 'in', arg, list, not, at };
    }
    if (this.acceptKeyword('between')) {
      const lo = this.concat();
      this.expectKeyword('and', 'in BETWEEN ... AND ...');
      return { k: 'between', arg, lo, hi: this.concat(), not, at };
    }
    for (const word of ['like', 'ilike']) {
      if (this.acceptKeyword(word)) {
        const pattern = this.concat();
        if (!this.acceptKeyword('escape')) return { k: 'like', arg, pattern, not, ci: word === 'ilike', at };
        const escape = this.next();
        if (escape.t !== 'str' || [...escape.value].length !== 1) throw new ExpressionError(`ESCAPE takes one character in quotes, e.g. ESCAPE '!', not ${describe(escape)}`, escape.at);
        return { k: 'like', arg, pattern, escape: escape.value, not, ci: word === 'ilike', at };
      }
    }
    return arg;
  }

  private concat = (): Expr => this.binaryLevel((t) => (this.isOp('||', t) ? '||' : undefined), this.additive);
  private additive = (): Expr => this.binaryLevel((t) => (this.isOp('+', t) || this.isOp('-', t) ? (t as { op: string }).op : undefined), this.multiplicative);
  private multiplicative = (): Expr =>
    this.binaryLevel((t) => (this.isOp('*', t) || this.isOp('/', t) || this.isOp('%', t) ? (t as { op: string }).op : undefined), this.unary);

  private unary = (): Expr => {
    const at = this.peek().at;
    if (this.isOp('-')) {
      this.i++;
      return { k: 'neg', arg: this.nested(at, this.unary), at };
    }
    if (this.isOp('+')) {
      this.i++;
      return this.nested(at, this.unary);
    }
    return this.postfix();
  };

  private postfix(): Expr {
    let arg = this.primary();
    const depth = this.depth;
    while (this.isOp('::')) {
      const at = this.next().at;
      this.deeper(at);
      arg = { k: 'cast', arg, to: this.typeName(), at };
    }
    this.depth = depth;
    return arg;
  }

  private typeName(): ExprType {
    const token = this.next();
    const type = token.t === 'id' ? CAST_TYPES[token.name.toLowerCase()] : undefined;
    if (type === undefined) throw new ExpressionError(`${describe(token)} is not a type an expression may cast to (${Object.keys(CAST_TYPES).map((t) => t.toUpperCase()).join(', ')})`, token.at);
    return type;
  }

  private primary(): Expr {
    const token = this.next();
    const at = token.at;
    if (token.t === 'num') return { k: 'lit', type: token.int ? 'int64' : 'float64', sql: token.int && BigInt(token.text) > INT64_MAX ? `${token.text}::HUGEINT` : token.text, at };
    if (token.t === 'str') return { k: 'lit', type: 'string', sql: `'${token.value.replaceAll("'", "''")}'`, at };
    if (this.isOp('(', token)) {
      if (this.isKeyword('select')) throw new ExpressionError('subqueries are not allowed in an expression', this.peek().at);
      const inner = this.nested(at, this.or);
      this.expectOp(')', 'to close "("');
      return inner;
    }
    if (token.t === 'end') throw new ExpressionError('the expression ends where a value is expected', at);
    if (token.t !== 'id') throw new ExpressionError(`unexpected ${describe(token)}`, at);
    const word = token.quoted ? '' : token.name.toLowerCase();
    if (word === 'null') return { k: 'lit', type: 'null', sql: 'NULL', at };
    if (word === 'true' || word === 'false') return { k: 'lit', type: 'bool', sql: word.toUpperCase(), at };
    if (word === 'case') return this.nested(at, () => this.caseExpr(at));
    if (word === 'cast') {
      this.expectOp('(', 'after CAST');
      const arg = this.nested(at, this.or);
      this.expectKeyword('as', 'in CAST(value AS type)');
      const to = this.typeName();
      this.expectOp(')', 'to close CAST(');
      return { k: 'cast', arg, to, at };
    }
    const quoteIt = `; a column named ${word} is written in double quotes: "${token.name}"`;
    if (word === 'select' || word === 'exists') throw new ExpressionError(`subqueries are not allowed in an expression${this.isOp('(') && word === 'exists' ? '' : quoteIt}`, at);
    if (word === 'interval') throw new ExpressionError('INTERVAL literals are not supported; use date_add/date_diff style functions such as date_trunc or epoch_ms arithmetic', at);
    if (KEYWORDS.has(word)) throw new ExpressionError(`unexpected ${word.toUpperCase()}${quoteIt}`, at);
    if (this.isOp('(')) {
      this.i++;
      const args: Expr[] = [];
      if (this.isKeyword('select')) throw new ExpressionError('subqueries are not allowed in an expression', this.peek().at);
      if (this.isKeyword('distinct')) throw new ExpressionError(`${token.name}(DISTINCT ...) is an aggregate; an expression reads one row`, this.peek().at);
      if (this.isOp('*')) throw new ExpressionError(`${token.name}(*) is an aggregate; an expression reads one row`, this.peek().at);
      if (!this.isOp(')')) {
        args.push(this.nested(at, this.or));
        while (this.isOp(',')) {
          this.i++;
          args.push(this.nested(at, this.or));
        }
      }
      this.expectOp(')', `to close ${token.name}(`);
      return { k: 'call', name: token.name.toLowerCase(), args, at };
    }
    if (this.isOp('.')) throw new ExpressionError(`"${token.name}.": qualified names are not allowed; an expression reads the columns of one source row by name`, at);
    return { k: 'col', name: token.name, at };
  }

  private caseExpr(at: number): Expr {
    const operand = this.isKeyword('when') ? undefined : this.or();
    const whens: { when: Expr; then: Expr }[] = [];
    while (this.acceptKeyword('when')) {
      const when = this.or();
      this.expectKeyword('then', 'after CASE ... WHEN condition');
      whens.push({ when, then: this.or() });
    }
    if (whens.length === 0) throw new ExpressionError('CASE needs at least one WHEN ... THEN ...', this.peek().at);
    const otherwise = this.acceptKeyword('else') ? this.or() : undefined;
    this.expectKeyword('end', 'to close CASE');
    return { k: 'case', ...(operand ? { operand } : {}), whens, ...(otherwise ? { otherwise } : {}), at };
  }
}

function describe(token: Token): string {
  switch (token.t) {
    case 'end':
      return 'the end of the expression';
    case 'num':
      return `number ${token.text}`;
    case 'str':
      return `string '${token.value}'`;
    case 'id':
      return token.quoted ? `"${token.name}"` : `"${token.name}"`;
    default:
      return `"${token.op}"`;
  }
}

/** Parses a row expression; an {@link ExpressionError} says what is wrong and where. */
export function parseExpression(text: string): Expr {
  return new Parser(tokenize(text)).parseAll();
}
