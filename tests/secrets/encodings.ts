/** Test helper: every encoding of a secret a reader could decode, computed with Node's Buffer (independent of convex/lib/redact). */
export const bytes = (s: string) => Buffer.from(s, "utf8");

/** Raw, lower/upper hex, and the base64/base64url interiors at the 3 byte alignments. */
export function encodingsOf(secret: string): string[] {
  const b = bytes(secret);
  const out = [secret, b.toString("hex"), b.toString("hex").toUpperCase()];
  for (let k = 0; k < 3; k++) {
    const from = Math.ceil((8 * k) / 6);
    const to = Math.floor((8 * (k + b.length)) / 6);
    const padded = Buffer.concat([Buffer.alloc(k), b]);
    out.push(padded.toString("base64").slice(from, to), padded.toString("base64url").slice(from, to));
  }
  return out;
}

/** The encodings of `secret` that occur in `text`. */
export const found = (text: string, secret: string) => encodingsOf(secret).filter((e) => text.includes(e));
