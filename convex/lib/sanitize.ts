/**
 * Text sanitizing for user-supplied text before it is stored or shown to the agent
 * (chat messages, voice transcripts, titles). Pure; no Convex imports.
 */

// C0 and C1 control characters except \t (09) and \n (0A); DEL (7F).
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F]/g;
// Bidirectional overrides/isolates (used to disguise text) and the BOM.
const BIDI_AND_BOM = /[\u202A-\u202E\u2066-\u2069\uFEFF]/g;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export type SanitizeOptions = {
  /** cap in code points (a surrogate pair is never split) */
  maxChars: number;
  /** collapse runs of spaces/tabs to one space and 3+ newlines to 2 */
  collapseWhitespace?: boolean;
};

/** Number of code points (what users think of as characters, near enough). */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Keeps at most `max` code points. */
export function capChars(text: string, max: number): string {
  if (text.length <= max) return text;
  let out = "";
  let n = 0;
  for (const ch of text) {
    if (n >= max) break;
    out += ch;
    n++;
  }
  return out;
}

/**
 * NFC-normalizes, turns CRLF/CR into \n, removes control characters (except \n and \t),
 * bidi overrides and BOMs, replaces lone surrogates, optionally collapses whitespace,
 * trims, and caps the length.
 */
export function sanitizeText(input: string, opts: SanitizeOptions): string {
  let s = typeof input === "string" ? input : String(input ?? "");
  s = s.replace(LONE_SURROGATE, "\uFFFD").normalize("NFC");
  s = s.replace(/\r\n?/g, "\n").replace(CONTROL, "").replace(BIDI_AND_BOM, "");
  if (opts.collapseWhitespace) {
    s = s
      .replace(/[ \t\u00A0\u2000-\u200B\u3000]+/g, " ")
      .replace(/ *\n */g, "\n")
      .replace(/\n{3,}/g, "\n\n");
  }
  s = s.trim();
  const max = Number.isFinite(opts.maxChars) && opts.maxChars > 0 ? Math.floor(opts.maxChars) : 0;
  return capChars(s, max).trim();
}

/** One-line form for titles and previews. */
export function sanitizeLine(input: string, maxChars: number): string {
  return sanitizeText(input, { maxChars, collapseWhitespace: true }).replace(/\s+/g, " ");
}
