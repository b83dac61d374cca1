import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { renderUrlTemplate, validateUrlTemplate } from "./urlTemplate";

const T = "https://api.example.com/v1/weather/{city}?units={units}";

describe("validateUrlTemplate", () => {
  test("lists placeholders with their position", () => {
    expect(validateUrlTemplate(T)).toEqual({
      ok: true,
      placeholders: [
        { name: "city", in: "path" },
        { name: "units", in: "query" },
      ],
    });
    expect(validateUrlTemplate("https://api.example.com")).toEqual({ ok: true, placeholders: [] });
  });

  test.each([
    "",
    "api.example.com/{x}",
    "ftp://api.example.com/{x}",
    "javascript:alert({x})",
    "https://{host}/v1",
    "https://api.{x}.com/v1",
    "https://api.example.com:{port}/v1",
    "https://{user}@api.example.com/v1",
    "https://user:pw@api.example.com/v1",
    "https://api.example.com@{x}/",
    "{scheme}://api.example.com/",
    "https://api.example.com/v1#{frag}",
    "https://api.example.com/v1/{x}#top",
    "https://api.example.com/v1/{x",
    "https://api.example.com/v1/x}",
    "https://api.example.com/v1/{}",
    "https://api.example.com/v1/{1abc}",
    "https://api.example.com/v1/{a-b}",
    "https://api.example.com/v1/{{x}}",
    "https://api.example.com/a b/{x}",
    "https://api.example.com/v1/\\{x}",
    "https://api.example.com/../{x}",
    "https://api.example.com/v1/./{x}",
    "https://api.example.com/v1/%2e%2e/{x}",
    "https://api.example.com/wetter/müller/{x}",
    "https:///{x}",
    "https://api.example.com\n/{x}",
    `https://api.example.com/${"a".repeat(2100)}`,
  ])("rejects template %j", (tpl) => {
    expect(validateUrlTemplate(tpl)).toEqual({ ok: false, code: "URL_TEMPLATE_INVALID" });
    expect(renderUrlTemplate(tpl, { x: "a", host: "a", port: "1", user: "a", scheme: "https", frag: "a" })).toEqual({
      ok: false,
      code: "URL_TEMPLATE_INVALID",
    });
  });
});

describe("renderUrlTemplate", () => {
  test("renders path and query placeholders with encoding", () => {
    expect(renderUrlTemplate(T, { city: "São Paulo", units: "metric" })).toEqual({
      ok: true,
      url: "https://api.example.com/v1/weather/S%C3%A3o%20Paulo?units=metric",
    });
  });

  test("stringifies numbers, booleans and bigints", () => {
    const r = renderUrlTemplate("https://api.example.com/items/{id}?flag={flag}&n={n}", { id: 42, flag: true, n: 10n });
    expect(r).toEqual({ ok: true, url: "https://api.example.com/items/42?flag=true&n=10" });
  });

  test("query values cannot add parameters, fragments or change the path", () => {
    const r = renderUrlTemplate(T, { city: "paris", units: "metric&admin=1#x/../../y" });
    expect(r.ok).toBe(true);
    if (r.ok) {
      const u = new URL(r.url);
      expect([...u.searchParams.keys()]).toEqual(["units"]);
      expect(u.searchParams.get("units")).toBe("metric&admin=1#x/../../y");
      expect(u.pathname).toBe("/v1/weather/paris");
      expect(u.hash).toBe("");
    }
  });

  test("placeholders inside a segment and in query keys", () => {
    const r = renderUrlTemplate("https://api.example.com/v1/{name}.json?{k}={v}", { name: "a b", k: "x=y", v: "&" });
    expect(r).toEqual({ ok: true, url: "https://api.example.com/v1/a%20b.json?x%3Dy=%26" });
  });

  test.each([
    [".", "dot"],
    ["..", "dot-dot"],
    ["../admin", "traversal"],
    ["a/b", "slash"],
    ["a\\b", "backslash"],
    ["..\\..\\etc", "backslash traversal"],
    ["%2e%2e", "pre-encoded dot-dot"],
    ["%2E%2E", "pre-encoded upper"],
    ["%2e.", "half-encoded"],
    ["%252e%252e", "double-encoded"],
    ["a%2fb", "pre-encoded slash"],
    ["a%5cb", "pre-encoded backslash"],
    ["a%00b", "encoded NUL"],
    ["a%2E%2Eb", "pre-encoded dots inside a value"],
    ["x%252fy", "double-encoded slash"],
    ["a?b", "question mark"],
    ["a#b", "hash"],
    ["user@evil", "at"],
    ["a\r\nHost: evil", "CRLF"],
    ["a\u0000b", "NUL"],
    ["a\u007fb", "DEL"],
    ["a\u0085b", "NEL"],
    ["\u2024\u2024", "one-dot leader"],
    ["\ufe52\ufe52", "small full stop"],
    ["\uff0e\uff0e", "fullwidth full stop"],
    ["\u3002\u3002", "ideographic full stop"],
    ["a\uff0fb", "fullwidth slash"],
    ["a\u2215b", "division slash"],
    ["a\uff3cb", "fullwidth backslash"],
    ["a\ufe6bb", "small commercial at (NFKC @)"],
    ["", "empty segment"],
    ["\ud800", "lone surrogate"],
    ["a".repeat(3000), "too long"],
  ])("path value %j (%s) → INPUT_INVALID", (city) => {
    expect(renderUrlTemplate(T, { city, units: "metric" })).toEqual({ ok: false, code: "INPUT_INVALID" });
  });

  test("values that only combine into a dot segment are rejected", () => {
    const tpl = "https://api.example.com/v1/{a}{b}/x";
    expect(renderUrlTemplate(tpl, { a: "a", b: "b" }).ok).toBe(true);
    expect(renderUrlTemplate(tpl, { a: ".", b: "." })).toEqual({ ok: false, code: "INPUT_INVALID" });
    expect(renderUrlTemplate(tpl, { a: "a.", b: "." })).toEqual({ ok: false, code: "INPUT_INVALID" });
    expect(renderUrlTemplate(tpl, { a: "%2", b: "e" })).toEqual({ ok: false, code: "INPUT_INVALID" });
  });

  test.each<[Record<string, unknown>, string]>([
    [{ units: "metric" }, "missing"],
    [{ city: undefined, units: "metric" }, "undefined"],
    [{ city: null, units: "metric" }, "null"],
    [{ city: { toString: () => "x" }, units: "metric" }, "object"],
    [{ city: ["a"], units: "metric" }, "array"],
    [{ city: NaN, units: "metric" }, "NaN"],
    [{ city: Infinity, units: "metric" }, "Infinity"],
    [{ city: () => "x", units: "metric" }, "function"],
    [{ city: "paris", units: ["a", "b"] }, "array in query"],
    [{ city: "paris", units: "\ud800" }, "lone surrogate in query"],
  ])("param %j (%s) → INPUT_INVALID", (params) => {
    expect(renderUrlTemplate(T, params)).toEqual({ ok: false, code: "INPUT_INVALID" });
  });

  test("inherited properties are not parameters", () => {
    expect(renderUrlTemplate("https://api.example.com/{constructor}", {})).toEqual({
      ok: false,
      code: "INPUT_INVALID",
    });
    const proto = Object.create({ city: "paris", units: "metric" });
    expect(renderUrlTemplate(T, proto)).toEqual({ ok: false, code: "INPUT_INVALID" });
  });

  test("non-object params → INPUT_INVALID", () => {
    expect(renderUrlTemplate(T, null as unknown as Record<string, unknown>)).toEqual({
      ok: false,
      code: "INPUT_INVALID",
    });
  });

  test("ordinary unicode and punctuation in a path value round-trips", () => {
    for (const city of ["München", "東京", "O'Hare", "a.b", "...a", "50%", "x+y", "a b", "emoji 🎉"]) {
      const r = renderUrlTemplate(T, { city, units: "m" });
      expect(r.ok, city).toBe(true);
      if (r.ok) expect(decodeURIComponent(new URL(r.url).pathname.split("/")[3])).toBe(city);
    }
  });

  // ---- properties -------------------------------------------------------------------------------

  const templates = [
    T,
    "https://api.example.com/{a}",
    "https://api.example.com/v1/{a}/{b}/tail?x={c}",
    "https://api.example.com/v1/{a}{b}.json?{c}={a}",
    "http://api.example.com:8080/{a}/x?c={c}&d={b}",
    "https://api.example.com?q={c}",
  ];
  const tricky = fc.constantFrom(
    ".",
    "..",
    "/",
    "\\",
    "%2e",
    "%2E",
    "%2f",
    "%5c",
    "%25",
    "%",
    "?",
    "#",
    "@",
    "&",
    "=",
    ":",
    "//",
    "\u2024",
    "\ufe52",
    "\uff0e",
    "\u3002",
    "\uff0f",
    "\uff3c",
    "\r",
    "\n",
    "\u0000",
    "a",
    "é",
    "\ud83c\udf89",
    "evil.com",
    "https://evil.com/",
    "[::1]",
    "127.0.0.1",
    " ",
  );
  const anyString = fc.oneof(
    fc.string({ unit: "binary", maxLength: 30 }),
    fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
    fc.array(tricky, { maxLength: 8 }).map((a) => a.join("")),
  );

  test("property: origin and path shape are preserved for arbitrary unicode params, or the call is rejected", () => {
    fc.assert(
      fc.property(fc.constantFrom(...templates), anyString, anyString, anyString, (tpl, a, b, c) => {
        const r = renderUrlTemplate(tpl, { a, b, c, city: a, units: c });
        if (!r.ok) {
          expect(r.code).toBe("INPUT_INVALID");
          return;
        }
        const want = new URL(tpl.replace(/\{[a-z]+\}/g, "x"));
        const got = new URL(r.url);
        expect(got.origin).toBe(want.origin);
        expect(got.username + got.password).toBe("");
        expect(got.hash).toBe("");
        const wantSegs = want.pathname.split("/");
        const gotSegs = got.pathname.split("/");
        expect(gotSegs.length).toBe(wantSegs.length);
        // Literal segments stay in place; placeholder segments never decode to a dot segment.
        wantSegs.forEach((seg, i) => {
          if (seg !== "x" && !seg.includes("x")) expect(gotSegs[i]).toBe(seg);
          const dec = decodeURIComponent(gotSegs[i]);
          expect(dec === "." || dec === "..").toBe(false);
          expect(dec.includes("/") || dec.includes("\\")).toBe(false);
        });
        expect([...got.searchParams.keys()].length).toBe([...want.searchParams.keys()].length);
      }),
      { numRuns: 2000 },
    );
  });

  test("property: safe values always render and round-trip exactly", () => {
    const safe = fc.string({ unit: fc.constantFrom(...Array.from("abcXYZ019-_~ é東🎉")), minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(safe, fc.string({ unit: "binary", maxLength: 20 }), (city, units) => {
        const r = renderUrlTemplate(T, { city, units });
        expect(r.ok).toBe(true);
        if (r.ok) {
          const u = new URL(r.url);
          expect(decodeURIComponent(u.pathname.split("/")[3])).toBe(city);
          expect(u.searchParams.get("units")).toBe(units);
        }
      }),
      { numRuns: 500 },
    );
  });
});
