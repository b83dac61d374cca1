// @vitest-environment node
// Pure SyncBoard helpers: MCP Apps resource handling, error-code mapping, routing, formatting.
import { describe, expect, it } from "vitest";
import { ConvexError } from "convex/values";
import { APP_CSP, parseAppMessage, srcdocFor, uiResourcesFromPreview, uiResourcesOf } from "../../src/mcp/uiResource";
import { CodedError, errorInfo, formatWait, friendly } from "../../src/lib/errors";
import { match } from "../../src/lib/router";
import { summarize } from "../../src/ui/Chart";
import { CODES } from "../../convex/lib/codes";

describe("MCP Apps resources", () => {
  const html = "<p>hi</p>";
  it("finds text/html resources in shaped results and raw MCP content, nothing else", () => {
    expect(uiResourcesOf({ ui: [{ uri: "ui://a", mimeType: "text/html", html }] })).toEqual([
      { uri: "ui://a", mimeType: "text/html", html },
    ]);
    expect(
      uiResourcesOf({
        content: [{ type: "resource", resource: { uri: "ui://b", mimeType: "text/html;profile=mcp-app", text: html } }],
      }),
    ).toHaveLength(1);
    expect(
      uiResourcesOf({
        content: [{ type: "resource", resource: { uri: "ui://c", mimeType: "text/plain", text: html } }],
      }),
    ).toEqual([]);
    expect(uiResourcesOf({ content: [{ type: "text", text: html }] })).toEqual([]);
    expect(uiResourcesFromPreview('{"ui":[{"uri":"ui://a","mimeType":"text/html","html":"<p>trunc')).toEqual([]);
  });

  it("puts the app CSP first in the document", () => {
    const withHead = srcdocFor("<html><head><title>x</title></head><body>y</body></html>");
    expect(withHead.indexOf("Content-Security-Policy")).toBeLessThan(withHead.indexOf("<title>"));
    expect(srcdocFor("<b>frag</b>")).toContain(`content="${APP_CSP}"`);
    expect(APP_CSP).toContain("connect-src 'none'");
    expect(APP_CSP).toContain("default-src 'none'");
  });

  it("accepts only size and notify messages, clamped", () => {
    expect(parseAppMessage({ type: "ui-size-change", payload: { height: 99999 } })).toEqual({
      kind: "size",
      height: 1200,
    });
    expect(
      parseAppMessage({ jsonrpc: "2.0", method: "ui/notifications/size-changed", params: { height: 10 } }),
    ).toEqual({ kind: "size", height: 80 });
    expect(parseAppMessage({ type: "notify", payload: { message: "x".repeat(500) } })).toEqual({
      kind: "notify",
      text: "x".repeat(300),
    });
    expect(parseAppMessage({ type: "link", payload: { url: "https://evil.example" } })).toBeNull();
    expect(parseAppMessage({ method: "tools/call", params: { name: "delete_everything" } })).toBeNull();
    expect(parseAppMessage("ui-size-change")).toBeNull();
  });
});

describe("error codes", () => {
  it("reads the server's code (and field/retry) from ConvexError and HTTP errors", () => {
    expect(errorInfo(new ConvexError({ code: "DOMAIN_INVALID", field: "allowedDomains", index: 1 }))).toMatchObject({
      code: "DOMAIN_INVALID",
      field: "allowedDomains",
      index: 1,
    });
    expect(errorInfo(new CodedError({ code: "RATE_LIMITED", retryAfterMs: 42_000 }))).toEqual({
      code: "RATE_LIMITED",
      retryAfterMs: 42_000,
    });
    expect(errorInfo(new Error("[Request ID: x] Server Error"))).toEqual({ code: "INTERNAL" });
  });

  it("has friendly text for every catalogue code", () => {
    const missing = [...new Set(CODES)].filter((c) => friendly(c).startsWith("The server refused this"));
    // Log-only codes never reach a caller.
    expect(missing.filter((c) => !["ABUSE_ALERT", "DUPLICATE_DELIVERY", "MCP_SESSION_MISMATCH"].includes(c))).toEqual(
      [],
    );
  });

  it("formats retry waits", () => {
    expect(formatWait(41_200)).toBe("42 s");
    expect(formatWait(400)).toBe("1 s");
    expect(formatWait(5 * 60_000)).toBe("5 min");
  });
});

describe("router and chart text", () => {
  it("matches patterns and decodes params", () => {
    expect(match("/skills/:id", "/skills/abc%20d")).toEqual({ id: "abc d" });
    expect(match("/skills/:id", "/skills")).toBeNull();
    expect(match("/", "/")).toEqual({});
    expect(match("/chat/:t", "/chat/%E0%A4%A")).toBeNull();
  });

  it("summarizes the 24 h chart in words", () => {
    const hours = Array.from({ length: 24 }, (_, i) => ({
      bucket: Date.UTC(2026, 0, 1, i),
      invocations: i === 5 ? 7 : 0,
      denied: i === 5 ? 1 : 0,
      securityEvents: 0,
      rateLimitHits: 0,
    }));
    expect(summarize(hours)).toMatch(
      /^7 invocations in the last 24 hours, 1 of them denied; 0 security events; busiest hour \d\d:00 with 7 invocations\.$/,
    );
    expect(summarize(hours.map((h) => ({ ...h, invocations: 0, denied: 0 })))).toBe(
      "No invocations and no security events in the last 24 hours.",
    );
  });
});
