import { describe, expect, test } from "vitest";
import fc from "fast-check";
import {
  canonicalJson,
  convexSafe,
  inspectMessages,
  isClientTokenShape,
  isConvexStorable,
  isSessionIdShape,
  mcpResourceUrl,
  parseBearer,
  protectedResourceMetadataUrl,
  shapeToolResult,
  skillResultToMcp,
  storableSchema,
  validAuthHeaderName,
  wwwAuthenticate,
} from "../../convex/mcp/protocol";
import { randomToken } from "../../convex/lib/tokens";

describe("canonical JSON", () => {
  test("key order never changes the text; values do", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        expect(canonicalJson(reversed)).toBe(canonicalJson(obj));
      }),
    );
    expect(canonicalJson({ b: [2, { d: 1, c: 2 }], a: null })).toBe('{"a":null,"b":[2,{"c":2,"d":1}]}');
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: "1" }));
  });
});

describe("resource and metadata URLs", () => {
  test("audience = public base URL (else CONVEX_SITE_URL) + /mcp", () => {
    expect(
      mcpResourceUrl({ WARDEN_PUBLIC_BASE_URL: "https://w.example/", CONVEX_SITE_URL: "https://x.convex.site" }),
    ).toBe("https://w.example/mcp");
    expect(mcpResourceUrl({ CONVEX_SITE_URL: "https://x.convex.site" })).toBe("https://x.convex.site/mcp");
    expect(mcpResourceUrl({ WARDEN_PUBLIC_BASE_URL: "https://w.example/base/" })).toBe("https://w.example/base/mcp");
    expect(mcpResourceUrl({})).toBeNull();
    expect(mcpResourceUrl({ WARDEN_PUBLIC_BASE_URL: "ftp://w.example" })).toBeNull();
    expect(mcpResourceUrl({ WARDEN_PUBLIC_BASE_URL: "https://u:p@w.example" })).toBeNull();
  });

  test("RFC 9728 well-known URL inserts the resource path after the well-known prefix", () => {
    expect(protectedResourceMetadataUrl("https://w.example/mcp")).toBe(
      "https://w.example/.well-known/oauth-protected-resource/mcp",
    );
    expect(protectedResourceMetadataUrl("https://w.example/base/mcp")).toBe(
      "https://w.example/.well-known/oauth-protected-resource/base/mcp",
    );
    expect(wwwAuthenticate("https://w.example/mcp")).toBe(
      'Bearer error="invalid_token", resource_metadata="https://w.example/.well-known/oauth-protected-resource/mcp"',
    );
  });
});

describe("tokens, session ids, headers", () => {
  test("shapes", () => {
    expect(isClientTokenShape(randomToken("wdn_mcp_", 32))).toBe(true);
    expect(isClientTokenShape(randomToken("wdn_mcq_", 32))).toBe(false);
    expect(isClientTokenShape(`wdn_mcp_${"a".repeat(42)}`)).toBe(false);
    expect(isSessionIdShape(randomToken("mcps_", 32))).toBe(true);
    expect(isSessionIdShape("mcps_../../x")).toBe(false);
  });

  test("bearer parsing", () => {
    expect(parseBearer("Bearer abc.def")).toBe("abc.def");
    expect(parseBearer("bearer abc")).toBe("abc");
    expect(parseBearer("Basic abc")).toBeNull();
    expect(parseBearer("Bearer a b")).toBeNull();
    expect(parseBearer(null)).toBeNull();
    expect(parseBearer(`Bearer ${"a".repeat(600)}`)).toBeNull();
  });

  test("an auth header cannot replace transport or framing headers", () => {
    for (const ok of ["Authorization", "X-Api-Key", "x-goog-api-key"]) expect(validAuthHeaderName(ok)).toBe(true);
    for (const bad of [
      "Host",
      "content-length",
      "Mcp-Session-Id",
      "Cookie",
      "Proxy-Authorization",
      "Bad Header",
      "",
      "a:b",
    ]) {
      expect(validAuthHeaderName(bad), bad).toBe(false);
    }
  });
});

describe("JSON-RPC inspection", () => {
  test("finds initialize, methods and tool names in single and batch messages", () => {
    expect(inspectMessages('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}')).toMatchObject({
      parsed: true,
      initialize: true,
    });
    const batch = inspectMessages(
      JSON.stringify([
        { jsonrpc: "2.0", id: 1, method: "tools/list" },
        { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "calc" } },
      ]),
    );
    expect(batch).toEqual({
      parsed: true,
      initialize: false,
      methods: ["tools/list", "tools/call"],
      toolCalls: ["calc"],
    });
    expect(inspectMessages("{nope")).toMatchObject({ parsed: false, initialize: false });
    expect(inspectMessages("null")).toMatchObject({ parsed: true, methods: [] });
  });
});

describe("Convex-storable values", () => {
  test("$-keys and non-ASCII keys are not storable; convexSafe falls back to JSON text", () => {
    expect(isConvexStorable({ a: [1, { b: "x" }] })).toBe(true);
    expect(isConvexStorable({ $ref: "#/x" })).toBe(false);
    expect(isConvexStorable({ a: { é: 1 } })).toBe(false);
    expect(convexSafe({ $ref: "#/x" })).toBe('{"$ref":"#/x"}');
    expect(convexSafe(undefined)).toBeNull();
  });

  test("a schema's top-level $schema tag is dropped; other $-keywords make it JSON text", () => {
    expect(storableSchema({ $schema: "http://json-schema.org/draft-07/schema#", type: "object" })).toEqual({
      type: "object",
    });
    expect(typeof storableSchema({ type: "object", $defs: { a: {} } })).toBe("string");
  });
});

describe("results", () => {
  test("text/html resources go to `ui`, everything else stays in content", () => {
    const r = shapeToolResult({
      content: [
        { type: "text", text: "t" },
        { type: "resource", resource: { uri: "ui://a", mimeType: "text/html", text: "<b>x</b>" } },
        { type: "resource", resource: { uri: "file://b", mimeType: "text/plain", text: "plain" } },
      ],
      isError: false,
    });
    expect(r).toEqual({
      ui: [{ uri: "ui://a", mimeType: "text/html", html: "<b>x</b>" }],
      content: [
        { type: "text", text: "t" },
        { type: "resource", resource: { uri: "file://b", mimeType: "text/plain", text: "plain" } },
      ],
    });
    expect(shapeToolResult({ content: "nope", isError: true })).toEqual({ content: [], isError: true });
  });

  test("checker results become MCP tool results", () => {
    expect(skillResultToMcp({ ok: true, output: { result: 2 } })).toEqual({
      content: [{ type: "text", text: '{"result":2}' }],
      structuredContent: { result: 2 },
    });
    expect(skillResultToMcp({ ok: true, output: "hi" })).toEqual({ content: [{ type: "text", text: "hi" }] });
    expect(skillResultToMcp({ ok: false, code: "RATE_LIMITED", retryAfterMs: 1500 })).toEqual({
      content: [{ type: "text", text: "RATE_LIMITED (retry after 2s)" }],
      isError: true,
    });
  });
});
