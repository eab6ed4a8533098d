/**
 * The `where` string grammar: the text form used by HTML attributes, e.g.
 * `where="done = false and priority > 2"`. It is tokenized and parsed by hand into an `Expr`,
 * never evaluated. Keywords are case-insensitive.
 *
 * ```
 * expr     := orExpr
 * orExpr   := andExpr ('or' andExpr)*
 * andExpr  := notExpr ('and' notExpr)*
 * notExpr  := 'not' notExpr | primary
 * primary  := '(' expr ')' | 'true' | 'false'
 *           | column op literal
 *           | column 'is' ['not'] 'null'
 *           | column ['not'] 'in' '(' [literal (',' literal)*] ')'
 *           | column ['not'] 'contains' literal
 * op       := '=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>='
 * column   := [A-Za-z_][A-Za-z0-9_]*  (not a keyword)
 *           | '`' any text, '``' for a backquote '`'   (for keywords and odd names)
 * literal  := number | string | 'true' | 'false' | 'null'
 * number   := ['-'] (digits ['.' digits] | '.' digits) [('e'|'E') ['+'|'-'] digits]
 * string   := "..." | '...'  with escapes \\ \" \' \n \r \t \uXXXX
 * ```
 *
 * Keywords (`and or not true false null is in contains`) are reserved: a column with such a name
 * must be backquoted, e.g. `` `in` = 1``. An identifier that merely starts with a keyword
 * (`android`, `order`, `island`) is an ordinary column and needs no quotes.
 *
 * Mapping: `=`/`==` → cmp eq, `!=`/`<>` → ne, `<` lt, `<=` lte, `>` gt, `>=` gte;
 * `x = null` → isNull true, `x != null` → isNull false (other operators reject null);
 * `x not in (...)` → not(in), `x not contains v` → not(contains); `true` → {op:'true'},
 * `false` → not(true). A chain `a and b and c` is one flat `and` node (likewise `or`); parentheses
 * keep their own node, so `a and (b and c)` stays nested. Empty text means `true`.
 *
 * Every problem throws `QueryParseError` with the 0-based position of the offending token.
 * Integers beyond ±(2^53 − 1) written without a fraction or exponent are rejected rather than
 * silently rounded. Text longer than `MAX_WHERE_LENGTH` and nesting (parentheses and `not`) deeper
 * than `MAX_WHERE_DEPTH` are rejected so hostile input cannot exhaust the stack.
 */
import type { CompareOp, Expr, Value } from './ast.ts';
import { unreachable } from '../util/assert.ts';
import { JazzError, QueryParseError } from '../util/errors.ts';

/** The longest `where` text `parseWhere` accepts, in UTF-16 code units. */
export const MAX_WHERE_LENGTH = 10_000;
/** The deepest nesting of parentheses and `not` that `parseWhere` accepts. */
export const MAX_WHERE_DEPTH = 64;

const KEYWORDS = new Set(['and', 'or', 'not', 'true', 'false', 'null', 'is', 'in', 'contains']);

const OPERATORS: ReadonlyMap<string, CompareOp> = new Map([
  ['=', 'eq'],
  ['==', 'eq'],
  ['!=', 'ne'],
  ['<>', 'ne'],
  ['<', 'lt'],
  ['<=', 'lte'],
  ['>', 'gt'],
  ['>=', 'gte'],
]);

type Token =
  | { readonly kind: 'ident'; readonly pos: number; readonly name: string }
  | { readonly kind: 'keyword'; readonly pos: number; readonly word: string; readonly text: string }
  | { readonly kind: 'number'; readonly pos: number; readonly value: number; readonly text: string }
  | { readonly kind: 'string'; readonly pos: number; readonly value: string }
  | { readonly kind: 'op'; readonly pos: number; readonly op: string }
  | { readonly kind: '(' | ')' | ','; readonly pos: number }
  | { readonly kind: 'eof'; readonly pos: number };

/** A literal value as the grammar can write it. */
type Literal = string | number | boolean | null;

const isIdentStart = (c: string): boolean => /^[A-Za-z_]$/.test(c);
const isIdentPart = (c: string): boolean => /^[A-Za-z0-9_]$/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isHex = (c: string): boolean => /^[0-9A-Fa-f]$/.test(c);
const isSpace = (c: string): boolean => /^\s$/.test(c);

/** Produces tokens on demand, so the first error in reading order is the one reported. */
class Lexer {
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  #fail(message: string, position: number): never {
    throw new QueryParseError(message, this.#text, position);
  }

  next(): Token {
    const text = this.#text;
    while (this.#pos < text.length && isSpace(text[this.#pos])) this.#pos++;
    const start = this.#pos;
    if (start >= text.length) return { kind: 'eof', pos: text.length };
    const c = text[start];

    if (c === '(' || c === ')' || c === ',') {
      this.#pos++;
      return { kind: c, pos: start };
    }
    if (c === '=' || c === '!' || c === '<' || c === '>') {
      let end = start;
      while (end < text.length && '=!<>'.includes(text[end])) end++;
      const op = text.slice(start, end);
      if (!OPERATORS.has(op)) this.#fail(`unknown operator '${op}'; use = != < <= > >=`, start);
      this.#pos = end;
      return { kind: 'op', pos: start, op };
    }
    if (c === '"' || c === "'") return this.#string(c);
    if (c === '`') return this.#quotedIdent();
    if (isDigit(c) || c === '-' || c === '.') return this.#number();
    // A system field (`$createdBy`, ...) is a name that starts with `$`.
    if (isIdentStart(c) || (c === '$' && isIdentStart(text[start + 1] ?? ''))) {
      let end = start + 1;
      while (end < text.length && isIdentPart(text[end])) end++;
      this.#pos = end;
      const word = text.slice(start, end);
      const lower = word.toLowerCase();
      if (KEYWORDS.has(lower)) return { kind: 'keyword', pos: start, word: lower, text: word };
      return { kind: 'ident', pos: start, name: word };
    }
    const ch = String.fromCodePoint(text.codePointAt(start) ?? 0);
    const hint = /\p{L}/u.test(ch) ? '; write column names with other characters in backquotes, like `título`' : '';
    this.#fail(`unexpected character ${JSON.stringify(ch)}${hint}`, start);
  }

  #string(quote: string): Token {
    const text = this.#text;
    const start = this.#pos;
    let i = start + 1;
    let value = '';
    for (;;) {
      if (i >= text.length) this.#fail(`unterminated string: add the closing ${quote}`, start);
      const c = text[i];
      if (c === quote) break;
      if (c !== '\\') {
        value += c;
        i++;
        continue;
      }
      if (i + 1 >= text.length) this.#fail(`unterminated string: add the closing ${quote}`, start);
      const e = text[i + 1];
      switch (e) {
        case '\\':
        case '"':
        case "'":
          value += e;
          break;
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        case 't':
          value += '\t';
          break;
        case 'u': {
          const hex = text.slice(i + 2, i + 6);
          if (hex.length !== 4 || ![...hex].every(isHex)) this.#fail("expected 4 hex digits after '\\u'", i);
          value += String.fromCharCode(parseInt(hex, 16));
          i += 4;
          break;
        }
        default:
          this.#fail(`unknown escape '\\${e}'; use \\\\ \\" \\' \\n \\r \\t or \\uXXXX`, i);
      }
      i += 2;
    }
    this.#pos = i + 1;
    return { kind: 'string', pos: start, value };
  }

  #quotedIdent(): Token {
    const text = this.#text;
    const start = this.#pos;
    let i = start + 1;
    let name = '';
    for (;;) {
      if (i >= text.length) this.#fail('unterminated column name: add the closing `', start);
      if (text[i] === '`') {
        if (text[i + 1] !== '`') break;
        name += '`';
        i += 2;
      } else {
        name += text[i];
        i++;
      }
    }
    this.#pos = i + 1;
    if (name === '') this.#fail('empty column name', start);
    return { kind: 'ident', pos: start, name };
  }

  #number(): Token {
    const text = this.#text;
    const start = this.#pos;
    let i = start;
    const digits = (): number => {
      const from = i;
      while (i < text.length && isDigit(text[i])) i++;
      return i - from;
    };
    if (text[i] === '-') i++;
    const intDigits = digits();
    let integer = true;
    if (text[i] === '.') {
      integer = false;
      i++;
      if (digits() === 0) this.#fail("expected a digit after '.'", i);
    } else if (intDigits === 0) {
      this.#fail("expected a number after '-'", start);
    }
    if (text[i] === 'e' || text[i] === 'E') {
      integer = false;
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (digits() === 0) this.#fail('expected a digit in the exponent', i);
    }
    if (i < text.length && (isIdentPart(text[i]) || text[i] === '.')) {
      this.#fail(`unexpected ${JSON.stringify(text[i])} after a number`, i);
    }
    this.#pos = i;
    const raw = text.slice(start, i);
    const value = Number(raw);
    if (!Number.isFinite(value)) this.#fail(`number out of range: ${raw}`, start);
    if (integer && !Number.isSafeInteger(value)) {
      this.#fail(`integer out of range: ${raw} is beyond ±2^53; for an approximation write 1.5e19`, start);
    }
    return { kind: 'number', pos: start, value, text: raw };
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'ident':
      return `column ${JSON.stringify(t.name)}`;
    case 'keyword':
      return `'${t.word}'`;
    case 'number':
      return t.text;
    case 'string':
      return `string ${JSON.stringify(t.value.length > 20 ? `${t.value.slice(0, 20)}…` : t.value)}`;
    case 'op':
      return `'${t.op}'`;
    case '(':
    case ')':
    case ',':
      return `'${t.kind}'`;
    case 'eof':
      return 'the end of the text';
    default:
      return unreachable(t);
  }
}

/** ", found X", or nothing when X is the end of the text (the position already says so). */
function found(t: Token): string {
  return t.kind === 'eof' ? '' : `, found ${describe(t)}`;
}

class Parser {
  readonly #text: string;
  readonly #lexer: Lexer;
  #peeked: Token | undefined;
  #depth = 0;

  constructor(text: string) {
    this.#text = text;
    this.#lexer = new Lexer(text);
  }

  #fail(message: string, position: number): never {
    throw new QueryParseError(message, this.#text, position);
  }

  #peek(): Token {
    return (this.#peeked ??= this.#lexer.next());
  }

  #take(): Token {
    const t = this.#peek();
    this.#peeked = undefined;
    return t;
  }

  #isKeyword(t: Token, word: string): boolean {
    return t.kind === 'keyword' && t.word === word;
  }

  #enter(t: Token): void {
    if (++this.#depth > MAX_WHERE_DEPTH) {
      this.#fail(`nesting deeper than ${MAX_WHERE_DEPTH} levels of parentheses and 'not'`, t.pos);
    }
  }

  parse(): Expr {
    const expr = this.#or();
    const t = this.#peek();
    if (t.kind === ')') this.#fail("unexpected ')' with no matching '('", t.pos);
    if (t.kind !== 'eof') this.#fail(`expected 'and', 'or' or the end of the text${found(t)}`, t.pos);
    return expr;
  }

  #or(): Expr {
    const args = [this.#and()];
    while (this.#isKeyword(this.#peek(), 'or')) {
      this.#take();
      args.push(this.#and());
    }
    return args.length === 1 ? args[0] : { op: 'or', args };
  }

  #and(): Expr {
    const args = [this.#not()];
    while (this.#isKeyword(this.#peek(), 'and')) {
      this.#take();
      args.push(this.#not());
    }
    return args.length === 1 ? args[0] : { op: 'and', args };
  }

  #not(): Expr {
    const t = this.#peek();
    if (!this.#isKeyword(t, 'not')) return this.#primary();
    this.#take();
    this.#enter(t);
    const arg = this.#not();
    this.#depth--;
    return { op: 'not', arg };
  }

  #primary(): Expr {
    const t = this.#take();
    switch (t.kind) {
      case '(': {
        this.#enter(t);
        const expr = this.#or();
        this.#depth--;
        const close = this.#take();
        if (close.kind === 'eof') this.#fail("unclosed '(': add the matching ')'", t.pos);
        if (close.kind !== ')') this.#fail(`expected 'and', 'or' or ')'${found(close)}`, close.pos);
        return expr;
      }
      case 'ident':
        return this.#condition(t.name, t);
      case 'keyword':
        if (t.word === 'true' || t.word === 'false') {
          const next = this.#peek();
          if (next.kind === 'op' || ['is', 'in', 'contains'].some((w) => this.#isKeyword(next, w))) {
            this.#fail(`'${t.text}' is a keyword; write \`${t.text}\` to use it as a column name`, t.pos);
          }
          return t.word === 'true' ? { op: 'true' } : { op: 'not', arg: { op: 'true' } };
        }
        if (t.word === 'and' || t.word === 'or') this.#fail(`expected a condition, found '${t.word}'`, t.pos);
        return this.#fail(`expected a condition, found '${t.word}'; to use it as a column name write \`${t.text}\``, t.pos);
      default:
        return this.#fail(`expected a condition${found(t)}`, t.pos);
    }
  }

  /** Everything after the column of a `primary`. */
  #condition(column: string, columnToken: Token): Expr {
    const t = this.#take();
    if (t.kind === 'op') {
      const cmp = OPERATORS.get(t.op);
      if (cmp === undefined) return this.#fail(`unknown operator '${t.op}'`, t.pos);
      const lit = this.#take();
      const value = this.#literal(lit, `a value after '${t.op}'`);
      if (value === null) {
        if (cmp === 'eq') return { op: 'isNull', column, isNull: true };
        if (cmp === 'ne') return { op: 'isNull', column, isNull: false };
        this.#fail(`cannot compare with null using '${t.op}'; use 'is null' or 'is not null'`, lit.pos);
      }
      return { op: 'cmp', column, cmp, value };
    }
    if (this.#isKeyword(t, 'is')) {
      let n = this.#take();
      let isNull = true;
      if (this.#isKeyword(n, 'not')) {
        isNull = false;
        n = this.#take();
      }
      if (!this.#isKeyword(n, 'null')) {
        this.#fail(`expected 'null' after '${isNull ? 'is' : 'is not'}'${found(n)}`, n.pos);
      }
      return { op: 'isNull', column, isNull };
    }
    let kw: Token = t;
    let negate = false;
    if (this.#isKeyword(t, 'not')) {
      negate = true;
      kw = this.#take();
      if (!this.#isKeyword(kw, 'in') && !this.#isKeyword(kw, 'contains')) {
        this.#fail(`expected 'in' or 'contains' after 'not'${found(kw)}`, kw.pos);
      }
    }
    let expr: Expr;
    if (this.#isKeyword(kw, 'in')) {
      expr = { op: 'in', column, values: this.#list() };
    } else if (this.#isKeyword(kw, 'contains')) {
      expr = { op: 'contains', column, value: this.#literal(this.#take(), "a value after 'contains'") };
    } else {
      return this.#fail(`expected an operator (= != < <= > >= is in contains) after ${describe(columnToken)}${found(kw)}`, kw.pos);
    }
    return negate ? { op: 'not', arg: expr } : expr;
  }

  #list(): Value[] {
    const open = this.#take();
    if (open.kind !== '(') this.#fail(`expected '(' after 'in'${found(open)}`, open.pos);
    const values: Value[] = [];
    if (this.#peek().kind === ')') {
      this.#take();
      return values;
    }
    for (;;) {
      values.push(this.#literal(this.#take(), values.length === 0 ? "a value after '('" : "a value after ','"));
      const t = this.#take();
      if (t.kind === ')') return values;
      if (t.kind === 'eof') this.#fail("unclosed '(': add the matching ')'", open.pos);
      if (t.kind !== ',') this.#fail(`expected ',' or ')' in the list${found(t)}`, t.pos);
    }
  }

  #literal(t: Token, what: string): Literal {
    if (t.kind === 'number' || t.kind === 'string') return t.value;
    if (t.kind === 'keyword') {
      if (t.word === 'true') return true;
      if (t.word === 'false') return false;
      if (t.word === 'null') return null;
    }
    const hint = t.kind === 'ident' ? ' (comparing with another column is not supported; quote text as "...")' : '';
    return this.#fail(`expected ${what}${found(t)}${hint}`, t.pos);
  }
}

/**
 * Parses a `where` string into an `Expr`. Throws `QueryParseError` (code `QUERY_PARSE`) with the
 * position of the first problem. Column names are not checked here; the query builder does that.
 */
export function parseWhere(text: string): Expr {
  if (typeof text !== 'string') {
    throw new JazzError('QUERY_INVALID', `where text must be a string, got ${typeof text}`);
  }
  if (text.length > MAX_WHERE_LENGTH) {
    // Keep only the start of hostile text in the error: it is serialised in `details`.
    throw new QueryParseError(`where text is too long (${text.length} characters, at most ${MAX_WHERE_LENGTH})`, text.slice(0, MAX_WHERE_LENGTH + 20), MAX_WHERE_LENGTH);
  }
  if (text.trim() === '') return { op: 'true' };
  return new Parser(text).parse();
}

// ---------------------------------------------------------------------------------------------
// Printing

const SYMBOLS: Readonly<Record<CompareOp, string>> = { eq: '=', ne: '!=', lt: '<', lte: '<=', gt: '>', gte: '>=' };

/**
 * Prints an `Expr` in the grammar above, for error messages and debugging. For every AST that
 * `parseWhere` can produce, `parseWhere(formatWhere(e))` deep-equals `e`. Values the grammar cannot
 * write (bytes, arrays, objects, NaN, ±Infinity, `cmp` with null) are printed readably but do not
 * parse back; formatWhere never throws on a well-formed Expr.
 */
export function formatWhere(expr: Expr): string {
  return format(expr);
}

function format(e: Expr): string {
  switch (e.op) {
    case 'true':
      return 'true';
    case 'and':
      if (e.args.length === 0) return 'true';
      if (e.args.length === 1) return format(e.args[0]);
      // A nested `and` or an `or` needs parentheses: `a and (b and c)` is its own node.
      return e.args.map((a) => (a.op === 'and' || a.op === 'or' ? `(${format(a)})` : format(a))).join(' and ');
    case 'or':
      if (e.args.length === 0) return 'false';
      if (e.args.length === 1) return format(e.args[0]);
      return e.args.map((a) => (a.op === 'or' ? `(${format(a)})` : format(a))).join(' or ');
    case 'not': {
      const a = e.arg;
      if (a.op === 'true') return 'false';
      if (a.op === 'in') return `${formatColumn(a.column)} not in (${a.values.map(formatValue).join(', ')})`;
      if (a.op === 'contains') return `${formatColumn(a.column)} not contains ${formatValue(a.value)}`;
      if (a.op === 'and' || a.op === 'or') return `not (${format(a)})`;
      return `not ${format(a)}`;
    }
    case 'cmp':
      return `${formatColumn(e.column)} ${SYMBOLS[e.cmp]} ${formatValue(e.value)}`;
    case 'isNull':
      return `${formatColumn(e.column)} is ${e.isNull ? '' : 'not '}null`;
    case 'in':
      return `${formatColumn(e.column)} in (${e.values.map(formatValue).join(', ')})`;
    case 'contains':
      return `${formatColumn(e.column)} contains ${formatValue(e.value)}`;
    default:
      return unreachable(e);
  }
}

/** A bare identifier when the grammar allows it, otherwise backquoted with '`' doubled. */
export function formatColumn(name: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name.toLowerCase())) return name;
  return `\`${name.replaceAll('`', '``')}\``;
}

function formatValue(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return String(v);
    case 'number':
      if (Object.is(v, -0)) return '-0';
      // Integers past 2^53 are written in exponent form, which the parser accepts as-is.
      if (Number.isInteger(v) && !Number.isSafeInteger(v)) return v.toExponential();
      return String(v);
    case 'string':
      return formatString(v);
    default:
      break;
  }
  if (v instanceof Uint8Array) return `x'${[...v].map((b) => b.toString(16).padStart(2, '0')).join('')}'`;
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  const obj = v as { readonly [k: string]: Value };
  return `{${Object.keys(obj)
    .map((k) => `${formatString(k)}: ${formatValue(obj[k])}`)
    .join(', ')}}`;
}

/** A double-quoted string; control characters, U+2028/9 and lone surrogates become \uXXXX. */
function formatString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    const code = s.charCodeAt(i);
    if (c === '"' || c === '\\') out += `\\${c}`;
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      out += c + s[i + 1];
      i++;
    } else if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || (code >= 0xd800 && code <= 0xdfff)) {
      out += `\\u${code.toString(16).padStart(4, '0')}`;
    } else out += c;
  }
  return `${out}"`;
}

function isLow(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
