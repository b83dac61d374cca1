import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { capChars, charCount, sanitizeLine, sanitizeText } from "./sanitize";

describe("sanitizeText", () => {
  test("removes control characters except \\n and \\t", () => {
    expect(sanitizeText("a\u0000b\u0007c\u001bd\u007fe\u0085f\tg\nh", { maxChars: 100 })).toBe("abcdef\tg\nh");
  });
  test("CRLF and CR become \\n; bidi overrides and BOM are removed", () => {
    expect(sanitizeText("a\r\nb\rc\u202Ed\u2066e\uFEFF", { maxChars: 100 })).toBe("a\nb\ncde");
  });
  test("NFC normalization", () => {
    expect(sanitizeText("e\u0301", { maxChars: 10 })).toBe("\u00e9");
  });
  test("collapses whitespace when asked", () => {
    expect(sanitizeText("  a \t\t b\n\n\n\n c  ", { maxChars: 100, collapseWhitespace: true })).toBe("a b\n\nc");
    expect(sanitizeText("a  b", { maxChars: 100 })).toBe("a  b");
  });
  test("caps by code points and never splits a surrogate pair", () => {
    expect(sanitizeText("😀😀😀", { maxChars: 2 })).toBe("😀😀");
    expect(capChars("abc", 2)).toBe("ab");
    expect(charCount("😀a")).toBe(2);
  });
  test("lone surrogates become U+FFFD", () => {
    expect(sanitizeText("a\uD800b", { maxChars: 10 })).toBe("a\uFFFDb");
  });
  test("sanitizeLine is a single line", () => {
    expect(sanitizeLine("a\nb\tc", 10)).toBe("a b c");
  });
  test("property: output has no forbidden control chars and respects the cap", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 120 }), fc.integer({ min: 0, max: 200 }), (s, max) => {
        const out = sanitizeText(s, { maxChars: max, collapseWhitespace: true });
        // eslint-disable-next-line no-control-regex
        expect(/[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/.test(out)).toBe(false);
        expect(charCount(out)).toBeLessThanOrEqual(max);
        expect(out).toBe(out.normalize("NFC"));
      }),
    );
  });
});
