// Twilio's request rules against twilio-node 6.2 and node:querystring (moved here with twilioRequest.ts).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import querystring from "node:querystring";
import {
  nodeQsParse,
  nodeQsStringify,
  parseFormBody,
  twilioAddPort,
  twilioFormParamString,
  twilioLegacyQuerystring,
  twilioParamString,
  twilioRemovePort,
} from "./twilioRequest";

describe("Node querystring reproduction (twilio-node's legacy re-encoding)", () => {
  const piece = fc.constantFrom(
    "a",
    "B",
    "=",
    "&",
    "+",
    "%",
    "2",
    "F",
    "%41",
    "%2B",
    "%26",
    "%3D",
    "%E2%82%AC",
    "%C3",
    "%ZZ",
    "%4",
    "é",
    "%EF%BB%BF",
    "'",
    " ",
    "~",
    "*",
  );
  const qsArb = fc.array(piece, { maxLength: 20 }).map((a) => a.join(""));

  it("parse and stringify match node:querystring", () => {
    fc.assert(
      fc.property(qsArb, (qs) => {
        const ref = querystring.parse(qs);
        const ours = nodeQsParse(qs);
        expect({ ...ours }).toEqual({ ...ref });
        expect(Object.keys(ours)).toEqual(Object.keys(ref));
        expect(nodeQsStringify(ours)).toBe(querystring.stringify(ref));
      }),
      { numRuns: 3000 },
    );
  });

  it("numeric-looking keys come first, as Node's object key order gives them", () => {
    expect(nodeQsStringify(nodeQsParse("b=1&2=x&a=3&1=y"))).toBe(
      querystring.stringify(querystring.parse("b=1&2=x&a=3&1=y")),
    );
  });

  it("stops after 1000 pairs like Node", () => {
    const qs = Array.from({ length: 1005 }, (_, i) => `k${i}=v`).join("&");
    expect(Object.keys(nodeQsParse(qs))).toHaveLength(1000);
    expect(Object.keys(querystring.parse(qs))).toHaveLength(1000);
  });

  it("twilioLegacyQuerystring", () => {
    expect(twilioLegacyQuerystring("https://a.com/p?x='y'&z=%27")).toBe("https://a.com/p?x='y'&z='");
    expect(twilioLegacyQuerystring("https://a.com/p?")).toBe("https://a.com/p?");
    expect(twilioLegacyQuerystring("https://a.com/p")).toBe("https://a.com/p");
  });
});

describe("twilio helpers", () => {
  it("add/remove the default port like twilio-node", () => {
    expect(twilioAddPort("https://a.com/x?y=1")).toBe("https://a.com:443/x?y=1");
    expect(twilioAddPort("HTTPS://a.com")).toBe("HTTPS://a.com:443");
    expect(twilioAddPort("http://u:p@a.com/x")).toBe("http://u:p@a.com:80/x");
    expect(twilioAddPort("https://[::1]/x")).toBe("https://[::1]:443/x");
    expect(twilioAddPort("https://a.com:8443/x")).toBe("https://a.com:8443/x");
    expect(twilioAddPort("not a url")).toBe("not a url");
    expect(twilioRemovePort("https://a.com:443/x")).toBe("https://a.com/x");
    expect(twilioRemovePort("https://u:p@[::1]:8443/x")).toBe("https://u:p@[::1]/x");
    expect(twilioRemovePort("https://a.com/x:80")).toBe("https://a.com/x:80");
  });

  it("param string: sorted keys, de-duplicated sorted array values", () => {
    expect(twilioParamString({ b: "2", a: "1", c: ["z", "x", "z"] })).toBe("a1b2cxcz");
    expect(twilioParamString({})).toBe("");
  });

  it("twilioFormParamString(body) equals twilioParamString(parseFormBody(body))", () => {
    expect(twilioFormParamString("b=2&a=1&c=z&c=x&c=z&__proto__=p&constructor")).toBe("__proto__pa1b2cxczconstructor");
    const piece = fc.oneof(
      fc.constantFrom(
        "a",
        "b",
        "=",
        "&",
        "+",
        "%",
        "%2B",
        "%26",
        "%3D",
        "%C3%28",
        "__proto__",
        "toString",
        "a=1",
        "a=2",
      ),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 24 }).map((a) => a.join("")),
        (body) => {
          expect(twilioFormParamString(body)).toBe(twilioParamString(parseFormBody(body)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("parseFormBody equals URLSearchParams on arbitrary ASCII bodies", () => {
    const piece = fc.oneof(
      fc.constantFrom(
        "a",
        "=",
        "&",
        "&&",
        "+",
        "%",
        "%4",
        "%41",
        "%2B",
        "%26",
        "%3D",
        "%E2%82%AC",
        "%C3",
        "%C3%28",
        "%ZZ",
        "%EF%BB%BF",
        "?",
      ),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 20 }).map((a) => a.join("")),
        (body) => {
          const ref: Record<string, string | string[]> = Object.create(null);
          for (const [k, v] of new URLSearchParams("&" + body)) {
            const cur = ref[k];
            ref[k] = cur === undefined ? v : Array.isArray(cur) ? [...cur, v] : [cur, v];
          }
          expect({ ...parseFormBody(body) }).toEqual({ ...ref });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("parseFormBody follows the WHATWG form decoding for raw non-ASCII next to bad escapes", () => {
    // UTF-8 bytes 25 5A 5A C2 A0 25 33 44 → percent-decode → "%ZZ\u00a0=". (Node 20's URLSearchParams gives U+FFFD here.)
    expect(parseFormBody("%ZZ\u00a0%3D")).toEqual({ "%ZZ\u00a0=": "" });
    expect(parseFormBody("k=%C3%A9%ZZ\u20ac")).toEqual({ k: "é%ZZ€" });
    expect(parseFormBody("k=%C3%28")).toEqual({ k: "\ufffd(" });
    expect(parseFormBody("k=%EF%BB%BFx")).toEqual({ k: "\ufeffx" });
  });

  it("parseFormBody decodes like node:querystring on well-formed bodies and keeps a leading '?'", () => {
    expect(parseFormBody("?a=1")).toEqual({ "?a": "1" });
    expect(parseFormBody("a=1&a=2&b=x+y&c")).toEqual({ a: ["1", "2"], b: "x y", c: "" });
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.string({ unit: "grapheme", minLength: 1 }),
          fc.oneof(fc.string({ unit: "grapheme" }), fc.array(fc.string(), { minLength: 1, maxLength: 3 })),
        ),
        (params) => {
          const body = querystring.stringify(params);
          expect({ ...parseFormBody(body) }).toEqual({ ...querystring.parse(body) });
        },
      ),
    );
  });
});
