/**
 * Safe arithmetic for the `calculator` template: a recursive-descent parser over numbers,
 * + - * / % ^, parentheses, unary minus and a fixed set of functions and constants.
 * No eval, no identifiers beyond the fixed table, bounded length and nesting.
 */

export const MAX_EXPRESSION_LENGTH = 500;
const MAX_DEPTH = 64;

const FUNCS: Record<string, (...a: number[]) => number> = {
  abs: Math.abs,
  sqrt: Math.sqrt,
  cbrt: Math.cbrt,
  ln: Math.log,
  log10: Math.log10,
  log2: Math.log2,
  exp: Math.exp,
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round,
  min: Math.min,
  max: Math.max,
};
const ARITY: Record<string, [number, number]> = { min: [1, 16], max: [1, 16] };
const CONSTS: Record<string, number> = { pi: Math.PI, e: Math.E };

export type CalcResult = { ok: true; value: number } | { ok: false; code: "INPUT_INVALID" };

type Tok = { t: "num"; v: number } | { t: "id"; v: string } | { t: "op"; v: string };

function tokenize(src: string): Tok[] | null {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === " " || c === "\t") {
      i++;
      continue;
    }
    const num = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      out.push({ t: "num", v: Number(num[0]) });
      i += num[0].length;
      continue;
    }
    const id = /^[a-z][a-z0-9]*/i.exec(src.slice(i));
    if (id) {
      out.push({ t: "id", v: id[0].toLowerCase() });
      i += id[0].length;
      continue;
    }
    if ("+-*/%^(),".includes(c)) {
      out.push({ t: "op", v: c });
      i++;
      continue;
    }
    return null;
  }
  return out;
}

class Parser {
  private i = 0;
  private depth = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(): Tok | undefined {
    return this.toks[this.i];
  }
  private isOp(v: string): boolean {
    const t = this.peek();
    return t !== undefined && t.t === "op" && t.v === v;
  }
  private expect(v: string): void {
    if (!this.isOp(v)) throw new Error("syntax");
    this.i++;
  }
  private enter(): void {
    if (++this.depth > MAX_DEPTH) throw new Error("depth");
  }

  parse(): number {
    const v = this.expr();
    if (this.i !== this.toks.length) throw new Error("trailing");
    return v;
  }

  // expr := term (('+'|'-') term)*
  private expr(): number {
    this.enter();
    let v = this.term();
    while (this.isOp("+") || this.isOp("-")) {
      const op = (this.toks[this.i++] as { v: string }).v;
      const r = this.term();
      v = op === "+" ? v + r : v - r;
    }
    this.depth--;
    return v;
  }

  // term := unary (('*'|'/'|'%') unary)*
  private term(): number {
    let v = this.unary();
    while (this.isOp("*") || this.isOp("/") || this.isOp("%")) {
      const op = (this.toks[this.i++] as { v: string }).v;
      const r = this.unary();
      v = op === "*" ? v * r : op === "/" ? v / r : v % r;
    }
    return v;
  }

  // unary := ('-'|'+') unary | power
  private unary(): number {
    if (this.isOp("-") || this.isOp("+")) {
      const op = (this.toks[this.i++] as { v: string }).v;
      this.enter();
      const v = this.unary();
      this.depth--;
      return op === "-" ? -v : v;
    }
    return this.power();
  }

  // power := atom ('^' unary)?   (right-associative)
  private power(): number {
    const base = this.atom();
    if (this.isOp("^")) {
      this.i++;
      this.enter();
      const exp = this.unary();
      this.depth--;
      return Math.pow(base, exp);
    }
    return base;
  }

  private atom(): number {
    const t = this.peek();
    if (!t) throw new Error("eof");
    if (t.t === "num") {
      this.i++;
      return t.v;
    }
    if (t.t === "op" && t.v === "(") {
      this.i++;
      const v = this.expr();
      this.expect(")");
      return v;
    }
    if (t.t === "id") {
      this.i++;
      if (Object.prototype.hasOwnProperty.call(CONSTS, t.v) && !this.isOp("(")) return CONSTS[t.v];
      if (!Object.prototype.hasOwnProperty.call(FUNCS, t.v)) throw new Error("unknown name");
      this.expect("(");
      const args = [this.expr()];
      while (this.isOp(",")) {
        this.i++;
        args.push(this.expr());
      }
      this.expect(")");
      const [lo, hi] = ARITY[t.v] ?? [1, 1];
      if (args.length < lo || args.length > hi) throw new Error("arity");
      return FUNCS[t.v](...args);
    }
    throw new Error("syntax");
  }
}

/** Evaluates an arithmetic expression; non-finite results (1/0, sqrt(-1)) are INPUT_INVALID. */
export function evaluate(expression: string): CalcResult {
  if (typeof expression !== "string" || expression.length === 0 || expression.length > MAX_EXPRESSION_LENGTH) {
    return { ok: false, code: "INPUT_INVALID" };
  }
  const toks = tokenize(expression);
  if (!toks || toks.length === 0) return { ok: false, code: "INPUT_INVALID" };
  try {
    const value = new Parser(toks).parse();
    if (!Number.isFinite(value)) return { ok: false, code: "INPUT_INVALID" };
    return { ok: true, value };
  } catch {
    return { ok: false, code: "INPUT_INVALID" };
  }
}
