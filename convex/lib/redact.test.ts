import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  EMAIL_MASK,
  PHONE_MASK,
  REDACTED,
  isSensitiveKey,
  preview,
  redact,
  redactKnown,
  redactKnownValue,
  redactPII,
  redactValue,
  secretMatcher,
  truncate,
  utf8Length,
} from "./redact";

const suffixBytes = (n: number) => utf8Length(`…[truncated ${n} bytes]`);
const isWellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

// code units including lone surrogates, ASCII and astral characters
const anyUnit = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.constantFrom("a", " ", '"', "\\", "=", "[", "]", "😀", "é", "\u0301"),
);
const anyText = fc.string({ unit: anyUnit, maxLength: 80 });
// text and secrets built from the marker's own characters, to try to glue "[REDACTED]" pieces into a secret
const markerish = fc.constantFrom(..."[REDACTED]x ");

describe("redact: known secrets (properties)", () => {
  it("a secret of ≥ 8 chars embedded anywhere never survives", () => {
    fc.assert(
      fc.property(
        fc.string({
          minLength: 8,
          maxLength: 40,
          unit: fc.oneof(fc.constant("a"), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })),
        }),
        fc.array(fc.tuple(anyText, fc.boolean()), { maxLength: 4 }),
        anyText,
        (secret, chunks, tail) => {
          const text = chunks.map(([t, put]) => (put ? t + secret : t)).join("") + secret + tail;
          expect(redact(text, [secret]).includes(secret)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("replacements cannot glue back into a secret, even one built from marker characters", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 14, unit: markerish }),
        fc.string({ maxLength: 30, unit: markerish }),
        fc.string({ maxLength: 30, unit: markerish }),
        (secret, before, after) => {
          const text = before + secret + after + secret;
          expect(redact(text, [secret]).includes(secret)).toBe(false);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("a secret never survives preview of an object that carries it", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 8, maxLength: 30, unit: "binary" }), anyText, (secret, noise) => {
        const value = {
          note: noise + secret,
          list: [secret, { deep: `x${secret}y` }],
          [`k${secret}`]: 1,
          quoted: `"${secret}"`,
        };
        expect(preview(value, [secret], 100_000).includes(secret)).toBe(false);
        // nor in its JSON-escaped form
        expect(preview(value, [secret], 100_000).includes(JSON.stringify(secret).slice(1, -1))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe("redact: known secrets (cases)", () => {
  it("removes every occurrence, longest first", () => {
    expect(redact("a hunter22 b hunter22hunter2x", ["hunter2", "hunter22"])).toBe(
      `a ${REDACTED} b ${REDACTED}${REDACTED}x`,
    );
  });
  it("removes JSON-escaped and URL-encoded forms", () => {
    const secret = 'pa"ss\\word/+&';
    expect(redact(JSON.stringify({ v: secret }), [secret])).not.toContain("ss\\\\word");
    expect(redact(`?q=${encodeURIComponent(secret)}`, [secret])).toBe(`?q=${REDACTED}`);
  });
  it("ignores secrets shorter than 4 characters", () => {
    expect(redact("abc abc", ["abc"])).toBe("abc abc");
  });
  it("withholds everything when replacements keep recreating a secret", () => {
    // "Bearer [REDACTED]" as a secret: the Bearer rule would rebuild it after the first pass
    const secret = `Bearer ${REDACTED}`;
    expect(redact(`auth ${secret} and Bearer abcdef`, [secret])).not.toContain(secret);
  });
  it("withholds everything when it does not converge", () => {
    const secret = `X${REDACTED}`; // each pass turns "XX[REDACTED]" into "X[REDACTED]" again
    const out = redact(`${"X".repeat(20)}${REDACTED}`, [secret]);
    expect(out).not.toContain(secret);
  });
  it("keeps the surrounding text when a second pass suffices", () => {
    const secret = "D][REDAC"; // "D]" + marker glues into the secret once
    const out = redact("hello D]D][REDAC world", [secret]);
    expect(out).not.toContain(secret);
    expect(out).toContain("hello");
  });
  it("removes the doubly JSON-escaped form", () => {
    const secret = 'quo"te\\secret';
    const text = JSON.stringify({ body: JSON.stringify({ k: secret }) });
    expect(redact(text, [secret])).toBe(JSON.stringify({ body: JSON.stringify({ k: REDACTED }) }));
  });
  it("uses another marker when a secret is part of the marker", () => {
    const out = redact("x REDA y", ["REDA"]);
    expect(out).not.toContain("REDA");
    expect(out).toContain("[HIDDEN]");
  });
});

// Reference encodings (Node's Buffer, independent of redact.ts's own encoder).
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
const hexOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const cat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
/** The characters of base64(k bytes + secret) that depend on the secret alone, for k = 0, 1, 2; and its hex. */
function encodingsOf(secret: string): string[] {
  const bytes = new TextEncoder().encode(secret);
  const out = [hexOf(bytes), hexOf(bytes).toUpperCase()];
  for (let k = 0; k < 3; k++) {
    const from = Math.ceil((8 * k) / 6);
    const to = Math.floor((8 * (k + bytes.length)) / 6);
    const withPrefix = cat(new Uint8Array(k), bytes);
    out.push(b64(withPrefix).slice(from, to), b64url(withPrefix).slice(from, to));
  }
  return out;
}
const secretText = fc.oneof(
  fc.string({ minLength: 8, maxLength: 40, unit: "binary" }),
  fc.string({ minLength: 8, maxLength: 40, unit: fc.constantFrom(..."abcXYZ019-_+/=:. ") }),
);
const someBytes = fc.uint8Array({ maxLength: 40 });

describe("redact: encoded secrets", () => {
  it("base64, base64url (padded or not) and hex of prefix+secret+suffix keep no encoding of the secret", () => {
    fc.assert(
      fc.property(
        secretText,
        someBytes,
        someBytes,
        fc.constantFrom(" ", "=", '"', "\n"),
        (secret, prefix, suffix, sep) => {
          const data = cat(prefix, new TextEncoder().encode(secret), suffix);
          const encoded = [
            b64(data),
            b64(data).replace(/=+$/, ""),
            b64url(data),
            hexOf(data),
            hexOf(data).toUpperCase(),
          ];
          const text = `start${sep}${encoded.join(sep)}${sep}end`;
          const out = redact(text, [secret]);
          for (const e of encodingsOf(secret)) expect(out.includes(e), e).toBe(false);
          expect(out.startsWith("start")).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("base64: removes exactly the characters that carry secret bits, and no more", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 30, unit: "binary" }),
        someBytes,
        someBytes,
        (secret, prefix, suffix) => {
          const s = new TextEncoder().encode(secret);
          const enc = b64(cat(prefix, s, suffix));
          const keepHead = Math.floor((8 * prefix.length) / 6);
          const keepTail = Math.ceil((8 * (prefix.length + s.length)) / 6);
          expect(redactKnown(enc, [secret])).toBe(enc.slice(0, keepHead) + REDACTED + enc.slice(keepTail));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("cases: padded, unpadded, URL alphabet, upper and lower hex, in a URL and behind an escaped slash", () => {
    const secret = "s3cr3t-\u00ff-Key?>>"; // bytes that give "+" and "/" in base64
    const bytes = new TextEncoder().encode(secret);
    const std = b64(bytes);
    expect(std).toMatch(/[+/]/);
    for (const text of [
      `Authorization: Basic ${b64(new TextEncoder().encode(`user:${secret}`))}`,
      `{"echo":"${std}"}`,
      `{"echo":"${std.replace(/=+$/, "")}"}`,
      `{"echo":"${std.replace(/\//g, "\\/")}"}`,
      `?k=${encodeURIComponent(std)}`,
      `k=${b64url(bytes)}`,
      `hex ${hexOf(bytes)} HEX ${hexOf(bytes).toUpperCase()}`,
    ]) {
      const out = redact(text, [secret]);
      for (const e of encodingsOf(secret)) expect(out, text).not.toContain(e);
      expect(out, text).toContain(REDACTED);
    }
  });

  it("short secrets are not hunted in encoded form (too many chance hits); raw still is", () => {
    expect(redact(`a ${btoa("abcd")} b abcd`, ["abcd"])).toBe(`a ${btoa("abcd")} b ${REDACTED}`);
  });

  it("a precomputed matcher gives the same result as the secret list", () => {
    const secrets = ["alpha-secret-value", "beta/secret+value"];
    const m = secretMatcher(secrets);
    const text = `x ${btoa(secrets[0])} ${hexOf(new TextEncoder().encode(secrets[1]))} ${secrets[1]}`;
    expect(redact(text, m)).toBe(redact(text, secrets));
    expect(redactValue({ a: text }, m)).toEqual(redactValue({ a: text }, secrets));
    expect(preview({ a: text }, m)).toBe(preview({ a: text }, secrets));
  });
});

describe("redactKnown / redactKnownValue", () => {
  it("remove only the known secrets: credential shapes and credential-named keys stay", () => {
    const secret = "own-key-1234567"; // 15 bytes: no base64 padding
    expect(redactKnown(`Bearer abcdefgh, key ${btoa(secret)}`, [secret])).toBe(`Bearer abcdefgh, key ${REDACTED}`);
    const schema = {
      type: "object",
      properties: { apiKey: { type: "string", description: `send ${secret}` }, [secret]: { type: "number" } },
      required: ["apiKey"],
    };
    expect(redactKnownValue(schema, [secret])).toEqual({
      type: "object",
      properties: { apiKey: { type: "string", description: `send ${REDACTED}` }, [REDACTED]: { type: "number" } },
      required: ["apiKey"],
    });
    expect(redactKnownValue(schema, [])).toEqual(schema);
  });
});

describe("redact: token shapes", () => {
  const cases: Array<[string, string, string]> = [
    ["bearer header", "Authorization: Bearer abc.def.ghi-123\nnext", "Authorization: [REDACTED]\nnext"],
    ["bearer inline", "use bearer Zm9vYmFyYmF6 please", "use bearer [REDACTED] please"],
    ["basic", "curl -H 'Authorization: Basic dXNlcjpwYXNz' https://x", "curl -H 'Authorization: [REDACTED]' https://x"],
    ["openai", "key sk-proj-abcdefghijklmnop1234 ok", "key [REDACTED] ok"],
    ["stripe", "sk_live_51HxyzABCDEFGHIJKLMNOP", REDACTED],
    ["restricted", "rk_test_abcdefghijklmnopqr", REDACTED],
    ["webhook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw ok", "[REDACTED] ok"],
    ["slack", "xoxb-1234567890-abcdefghij", REDACTED],
    ["slack user", "xoxp-1234567890-abcdefghij", REDACTED],
    ["github", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", REDACTED],
    ["github fine-grained", "github_pat_11ABCDEFG0123456789_abcdefghijk", REDACTED],
    ["jwt", "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcDEF123_-x;", "t=[REDACTED];"],
    ["aws id", "AKIAIOSFODNN7EXAMPLE", REDACTED],
    ["aws secret (base64 run)", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", REDACTED],
    ["hex run", "sha e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 end", "sha [REDACTED] end"],
    ["base64url run", "k=Zx9_Qm2kLp0aBcD3eFgH4iJkL5mNoP6qRsT7uVwX8yZ-", "k=[REDACTED]"],
    ["query password", "url ?user=bob&password=hunter2&x=1", "url ?user=bob&password=[REDACTED]&x=1"],
    ["env style", "PASSWORD: hunter2\nclient_secret=abc123", "PASSWORD: [REDACTED]\nclient_secret=[REDACTED]"],
    [
      "json pairs",
      '{"user":"bob","password":"hu\\"nter2","db_password": "x y","maxTokens":100,"apiKey":"abc"}',
      '{"user":"bob","password":"[REDACTED]","db_password": "[REDACTED]","maxTokens":100,"apiKey":"[REDACTED]"}',
    ],
    ["escaped json", 'm="{\\"password\\":\\"hunter2\\"}"', 'm="{\\"password\\":\\"[REDACTED]\\"}"'],
    ["single quotes", "{'token': 'abc def'}", "{'token': '[REDACTED]'}"],
  ];
  for (const [label, input, expected] of cases) {
    it(label, () => expect(redact(input)).toBe(expected));
  }

  const untouched = [
    "the quick brown fox jumps over the lazy dog repeatedly and without pause",
    "path /usr/local/lib/node_modules/typescript/lib/typescript.js",
    "id 3f2504e0-4f89-11d3-9a0c-0305e82c3301 at 2024-01-15T10:30:00Z",
    '{"maxTokens":1024,"promptTokens":12,"secretName":"STRIPE_KEY","tokenizer":"cl100k"}',
    "risk_assessment_framework_version_two is fine; task-manager too",
    "password policy: at least 12 characters",
    '{"password":null,"token":true}',
  ];
  for (const text of untouched) {
    it(`leaves ordinary text: ${text.slice(0, 40)}`, () => expect(redact(text)).toBe(text));
  }

  it("is stable on already redacted text", () => {
    const once = redact("password=hunter2 Bearer abcdefgh sk-abcdefghijklmnopqrstu");
    expect(redact(once)).toBe(once);
  });
});

describe("isSensitiveKey", () => {
  it.each([
    "password",
    "Password",
    "db_password",
    "passwd",
    "apiKey",
    "api_key",
    "x-api-key",
    "client_secret",
    "accessToken",
    "refresh_token",
    "Authorization",
    "Set-Cookie",
    "privateKey",
    "webhookSecret",
    "credentials",
  ])("%s is sensitive", (k) => expect(isSensitiveKey(k)).toBe(true));
  it.each(["maxTokens", "promptTokens", "secretName", "name", "tokenizer", "keyVersion", "last4", "author"])(
    "%s is not",
    (k) => expect(isSensitiveKey(k)).toBe(false),
  );
});

describe("redactValue", () => {
  it("blanks credential-named keys at any depth and redacts strings and keys", () => {
    const out = redactValue(
      {
        headers: { Authorization: "Bearer x", "X-Api-Key": 1234, accept: "json" },
        nested: [{ password: { a: 1 } }, { token: "t", maxTokens: 5, flagToken: true }],
        note: "contains s3cr3t-value!",
        "s3cr3t-value!": "as key",
      },
      ["s3cr3t-value!"],
    );
    expect(out).toEqual({
      headers: { Authorization: REDACTED, "X-Api-Key": REDACTED, accept: "json" },
      nested: [{ password: REDACTED }, { token: REDACTED, maxTokens: 5, flagToken: true }],
      note: `contains ${REDACTED}`,
      [REDACTED]: "as key",
    });
  });

  it("returns JSON-safe data", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const shared = { x: 1 };
    const out = redactValue({
      n: NaN,
      inf: Infinity,
      big: 12n,
      u: undefined,
      f: () => 1,
      s: Symbol("s"),
      d: new Date(0),
      bad: new Date(NaN),
      bytes: new Uint8Array(3),
      err: Object.assign(new Error("boom"), { stack: "at secret place" }),
      map: new Map([["k", 1]]),
      set: new Set([1, 2]),
      arr: [undefined, () => 1],
      cyclic,
      twice: [shared, shared],
    });
    expect(out).toEqual({
      n: null,
      inf: null,
      big: "12",
      d: "1970-01-01T00:00:00.000Z",
      bad: null,
      bytes: "[binary 3 bytes]",
      err: { name: "Error", message: "boom" },
      map: { k: 1 },
      set: [1, 2],
      arr: [null, null],
      cyclic: { a: 1, self: "[Circular]" },
      twice: [{ x: 1 }, { x: 1 }],
    });
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
    expect(redactValue(undefined)).toBe(null);
  });

  it("caps depth", () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(JSON.stringify(redactValue(deep))).toContain("[MaxDepth]");
  });
});

describe("truncate", () => {
  it("never exceeds maxBytes + suffix and always yields well-formed text", () => {
    fc.assert(
      fc.property(fc.string({ unit: anyUnit, maxLength: 200 }), fc.integer({ min: 0, max: 120 }), (text, max) => {
        const out = truncate(text, max);
        expect(isWellFormed(out)).toBe(true);
        const bytes = new TextEncoder().encode(out);
        expect(new TextDecoder("utf-8", { fatal: true }).decode(bytes)).toBe(out);
        const m = /…\[truncated (\d+) bytes\]$/.exec(out);
        const total = utf8Length(text);
        if (total <= max) {
          expect(m).toBeNull();
          expect(utf8Length(out)).toBe(total);
        } else {
          expect(m).not.toBeNull();
          const dropped = Number(m![1]);
          expect(bytes.length).toBeLessThanOrEqual(max + suffixBytes(dropped));
          expect(bytes.length - suffixBytes(dropped) + dropped).toBe(total);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("cuts on code point boundaries", () => {
    expect(truncate("😀😀", 5)).toBe("😀…[truncated 4 bytes]");
    expect(truncate("😀😀", 3)).toBe("…[truncated 8 bytes]");
    expect(truncate("héllo", 2)).toBe("h…[truncated 5 bytes]");
    expect(truncate("hello", 5)).toBe("hello");
    expect(truncate("hello", 0)).toBe("…[truncated 5 bytes]");
    expect(truncate("hello", -1)).toBe("…[truncated 5 bytes]");
  });
});

describe("preview", () => {
  it("stringifies, redacts and truncates", () => {
    const p = preview(
      { user: "bob", password: "hunter2", note: "key sk-abcdefghijklmnopqrstuv", raw: "MY-SECRET-VALUE" },
      ["MY-SECRET-VALUE"],
    );
    expect(p).toBe(`{"user":"bob","password":"${REDACTED}","note":"key ${REDACTED}","raw":"${REDACTED}"}`);
  });
  it("is bounded", () => {
    const p = preview({ big: "x".repeat(5000) }, [], 100);
    expect(utf8Length(p)).toBeLessThanOrEqual(100 + suffixBytes(5000));
    expect(p).toMatch(/…\[truncated \d+ bytes\]$/);
  });
  it("handles undefined", () => {
    expect(preview(undefined)).toBe("null");
  });
});

describe("redactPII", () => {
  const masked: Array<[string, string]> = [
    ["mail bob.smith+tag@example.co.uk now", `mail ${EMAIL_MASK} now`],
    ["call +14155552671", `call ${PHONE_MASK}`],
    ["+1 (555) 123-4567", PHONE_MASK],
    ["(555) 123-4567", PHONE_MASK],
    ["555-123-4567", PHONE_MASK],
    ["555.123.4567", PHONE_MASK],
    ["+44 20 7946 0958", PHONE_MASK],
    ["020 7946 0958", PHONE_MASK],
    ["+49-30-1234567", PHONE_MASK],
  ];
  for (const [input, expected] of masked) {
    it(`masks ${input}`, () => expect(redactPII(input)).toBe(expected));
  }
  const kept = [
    "at 2024-01-15 10:30:00",
    "from 192.168.10.20",
    "id 1700000000000",
    "version v1.2.3 and 10.0.1",
    "dates 12/31/2024 and 01.02.2024",
    "order #12345 costs 1,234.50",
  ];
  for (const input of kept) {
    it(`keeps ${input}`, () => expect(redactPII(input)).toBe(input));
  }
});
