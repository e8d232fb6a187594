/**
 * Lexer for TaskRouter expressions (spec §3.2). It turns source text into tokens with 0-based
 * positions, and reports every lexical mistake as an {@link ExpressionSyntaxError} at the offending
 * character.
 *
 * Decisions the spec leaves open (OUR CHOICE):
 * - A key is one token, segments included: `customer.ids[1]` has no spaces inside. The index is a
 *   non-negative integer written directly inside the brackets.
 * - A keyword (`AND OR NOT IN HAS CONTAINS true false null`, any case) is always a keyword, so it
 *   cannot start a key; it may still be a later segment (`task.in`).
 * - A `-` directly after a key is reported as a hyphen in the key (`skill-level`, `level-1`).
 * - `>-` and `<-` are matched greedily, like every operator: `level>-1` is `level HAS 1`.
 *   Write `level > -1` for a comparison with a negative number.
 * - Strings take JSON's escapes plus `\'`: `\" \' \\ \/ \b \f \n \r \t \uXXXX`. Any other escape
 *   is an error rather than a silent guess.
 */
import { ExpressionSyntaxError } from './syntax-error.ts';
import type { KeyPath, PathSegment } from './syntax-tree.ts';

export type Keyword = 'AND' | 'OR' | 'NOT' | 'IN' | 'HAS' | 'CONTAINS' | 'TRUE' | 'FALSE' | 'NULL';

export type SymbolText = '(' | ')' | '[' | ']' | ',' | '==' | '=' | '!=' | '>=' | '>-' | '>' | '<=' | '<-' | '<';

interface Span {
  readonly start: number;
  readonly end: number;
}

export type Token = Span &
  (
    | { readonly kind: 'string'; readonly value: string }
    | { readonly kind: 'number'; readonly value: number }
    | { readonly kind: 'keyword'; readonly keyword: Keyword }
    | { readonly kind: 'key'; readonly path: KeyPath }
    | { readonly kind: 'symbol'; readonly symbol: SymbolText }
    | { readonly kind: 'end' }
  );

const KEYWORDS: ReadonlyMap<string, Keyword> = new Map([
  ['and', 'AND'],
  ['or', 'OR'],
  ['not', 'NOT'],
  ['in', 'IN'],
  ['has', 'HAS'],
  ['contains', 'CONTAINS'],
  ['true', 'TRUE'],
  ['false', 'FALSE'],
  ['null', 'NULL'],
]);

/** Longest first, so `>=` wins over `>`. */
const SYMBOLS: readonly SymbolText[] = ['==', '!=', '>=', '>-', '<=', '<-', '=', '>', '<', '(', ')', '[', ']', ','];

const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['"', '"'],
  ["'", "'"],
  ['\\', '\\'],
  ['/', '/'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
]);

/** Hints for characters people reach for from other languages. */
const CHARACTER_HINTS: ReadonlyMap<string, string> = new Map([
  ['-', 'a "-" may only start a negative number such as -1'],
  ['!', 'use "!=" for "not equal" or NOT to negate a condition'],
  ['&', 'use AND to join conditions'],
  ['|', 'use OR to join conditions'],
  ['.', 'a "." joins two key names (customer.tier) or starts a number (.5)'],
]);

const KEY_HYPHEN_REASON = 'keys may contain letters, digits, "_" and "$" only';
const NUMBER_FORM_REASON = 'numbers are written like 3, -1.5, .5 or 0800';
const INDEX_REASON = 'an array index is a whole number written directly in brackets, such as ids[0]';

/**
 * Splits `source` into tokens; the last token is always `end` at `source.length`.
 * Throws {@link ExpressionSyntaxError} at the first character that cannot start or continue a token.
 */
export function tokenize(source: string): Token[] {
  return new Lexer(source).run();
}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

function isIdentStart(ch: string | undefined): boolean {
  return ch !== undefined && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_' || ch === '$');
}

function isIdentPart(ch: string | undefined): boolean {
  return isIdentStart(ch) || isDigit(ch);
}

function isWhitespace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/.test(ch);
}

class Lexer {
  private readonly source: string;
  private position = 0;

  constructor(source: string) {
    this.source = source;
  }

  run(): Token[] {
    const tokens: Token[] = [];
    for (;;) {
      while (isWhitespace(this.peek())) this.position++;
      if (this.position >= this.source.length) break;
      tokens.push(this.token());
    }
    tokens.push({ kind: 'end', start: this.source.length, end: this.source.length });
    return tokens;
  }

  private peek(offset = 0): string | undefined {
    return this.source[this.position + offset];
  }

  private token(): Token {
    const ch = this.peek();
    if (ch === '"' || ch === "'") return this.string(ch);
    if (this.startsNumber()) return this.number();
    if (isIdentStart(ch)) return this.word();
    const symbol = SYMBOLS.find((s) => this.source.startsWith(s, this.position));
    if (symbol !== undefined) return this.symbol(symbol);
    throw this.unexpectedCharacter(CHARACTER_HINTS.get(ch ?? '') ?? 'this character has no meaning in an expression');
  }

  private startsNumber(): boolean {
    const at = this.peek() === '-' ? 1 : 0;
    return isDigit(this.peek(at)) || (this.peek(at) === '.' && isDigit(this.peek(at + 1)));
  }

  private symbol(symbol: SymbolText): Token {
    const start = this.position;
    this.position += symbol.length;
    return { kind: 'symbol', symbol, start, end: this.position };
  }

  /** `["-"] digits ["." digits] | ["-"] "." digits`, not followed by a letter, digit or ".". */
  private number(): Token {
    const start = this.position;
    if (this.peek() === '-') this.position++;
    this.skipDigits();
    if (this.peek() === '.') {
      this.position++;
      if (!isDigit(this.peek())) throw this.unexpectedCharacter(NUMBER_FORM_REASON);
      this.skipDigits();
    }
    if (isIdentPart(this.peek()) || this.peek() === '.') throw this.unexpectedCharacter(NUMBER_FORM_REASON);
    return { kind: 'number', value: Number(this.source.slice(start, this.position)), start, end: this.position };
  }

  private skipDigits(): void {
    while (isDigit(this.peek())) this.position++;
  }

  /** A keyword, or a key with its `.name` and `[index]` segments. */
  private word(): Token {
    const start = this.position;
    const name = this.identifier();
    const keyword = KEYWORDS.get(name.toLowerCase());
    if (keyword !== undefined) return { kind: 'keyword', keyword, start, end: this.position };
    const path: KeyPath = [name, ...this.segments()];
    if (this.peek() === '-') throw this.unexpectedCharacter(KEY_HYPHEN_REASON);
    return { kind: 'key', path, start, end: this.position };
  }

  private identifier(): string {
    const start = this.position;
    while (isIdentPart(this.peek())) this.position++;
    return this.source.slice(start, this.position);
  }

  private segments(): PathSegment[] {
    const segments: PathSegment[] = [];
    for (;;) {
      if (this.peek() === '.') {
        this.position++;
        if (!isIdentStart(this.peek())) {
          throw this.unexpectedCharacter('a "." in a key must be followed by a name starting with a letter, "_" or "$"');
        }
        segments.push(this.identifier());
      } else if (this.peek() === '[') {
        segments.push(this.index());
      } else {
        return segments;
      }
    }
  }

  private index(): number {
    this.position++;
    const digitsStart = this.position;
    this.skipDigits();
    if (this.position === digitsStart || this.peek() !== ']') throw this.unexpectedCharacter(INDEX_REASON);
    const index = Number(this.source.slice(digitsStart, this.position));
    this.position++;
    return index;
  }

  private string(quote: string): Token {
    const start = this.position;
    this.position++;
    let value = '';
    let chunkStart = this.position;
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw this.unterminatedString(start, quote);
      if (ch === quote) break;
      if (ch === '\\') {
        value += this.source.slice(chunkStart, this.position) + this.escape(start, quote);
        chunkStart = this.position;
      } else {
        this.position++;
      }
    }
    value += this.source.slice(chunkStart, this.position);
    this.position++;
    return { kind: 'string', value, start, end: this.position };
  }

  /** Reads one escape sequence starting at the backslash; returns the character it stands for. */
  private escape(stringStart: number, quote: string): string {
    const backslash = this.position;
    const letter = this.peek(1);
    if (letter === undefined) throw this.unterminatedString(stringStart, quote);
    if (letter === 'u') {
      const hex = this.source.slice(backslash + 2, backslash + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.badEscape(backslash, '\\u');
      this.position += 6;
      return String.fromCharCode(parseInt(hex, 16));
    }
    const replacement = ESCAPES.get(letter);
    if (replacement === undefined) throw this.badEscape(backslash, `\\${letter}`);
    this.position += 2;
    return replacement;
  }

  private unexpectedCharacter(reason: string): ExpressionSyntaxError {
    const codePoint = this.source.codePointAt(this.position);
    const problem =
      codePoint === undefined ? 'Unexpected end of expression' : `Unexpected ${JSON.stringify(String.fromCodePoint(codePoint))}`;
    return new ExpressionSyntaxError({ expression: this.source, position: this.position, problem, reason });
  }

  private unterminatedString(start: number, quote: string): ExpressionSyntaxError {
    return new ExpressionSyntaxError({
      expression: this.source,
      position: start,
      problem: 'Unterminated string starting',
      reason: `add the closing ${quote}`,
    });
  }

  private badEscape(position: number, text: string): ExpressionSyntaxError {
    return new ExpressionSyntaxError({
      expression: this.source,
      position,
      problem: `Unknown escape ${JSON.stringify(text)}`,
      reason: 'strings know the escapes \\" \\\' \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; write \\\\ for a backslash',
    });
  }
}
