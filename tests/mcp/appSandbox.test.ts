import { describe, expect, test } from "vitest";
import { newT } from "../harness";
import { TEST_ENV } from "../env";
import { SECURITY_HEADERS } from "../../convex/lib/httpSecurity";
import { appSandboxCsp, appSandboxHtml, sandboxOrigins } from "../../convex/mcp/inbound/appSandbox";

const EXPECTED_CSP = `default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'none'; frame-ancestors ${TEST_ENV.WARDEN_ALLOWED_ORIGINS}; base-uri 'none'; form-action 'none'`;

describe("GET /mcp-app-sandbox", () => {
  test("200 HTML with its own CSP, framable only by the allowed SyncBoard origins", async () => {
    const t = newT();
    const res = await t.fetch("/mcp-app-sandbox");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/html/);
    expect(res.headers.get("Content-Security-Policy")).toBe(EXPECTED_CSP);
    expect(res.headers.get("X-Frame-Options")).toBeNull();
    // The other security headers stay.
    for (const h of ["Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy"]) {
      expect(res.headers.get(h), h).toBe(SECURITY_HEADERS[h]);
    }
    const html = await res.text();
    expect(html).toContain(`var allowed = ${JSON.stringify([TEST_ENV.WARDEN_ALLOWED_ORIGINS])};`);
    expect(html).toContain("event.source !== window.parent");
    expect(html).toContain('inner.setAttribute("sandbox", "allow-scripts")');
    expect(html).not.toContain("allow-same-origin");
  });

  test("frame-ancestors follows WARDEN_ALLOWED_ORIGINS at request time", async () => {
    const t = newT();
    const before = process.env.WARDEN_ALLOWED_ORIGINS;
    try {
      process.env.WARDEN_ALLOWED_ORIGINS =
        "https://a.example, https://b.example:8443/, javascript:alert(1), https://x.example; script-src *";
      const res = await t.fetch("/mcp-app-sandbox");
      expect(res.headers.get("Content-Security-Policy")).toContain(
        "; frame-ancestors https://a.example https://b.example:8443; base-uri",
      );
      process.env.WARDEN_ALLOWED_ORIGINS = "";
      const none = await t.fetch("/mcp-app-sandbox");
      expect(none.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    } finally {
      process.env.WARDEN_ALLOWED_ORIGINS = before;
    }
  });

  test("other routes keep X-Frame-Options DENY and the default CSP", async () => {
    const t = newT();
    const res = await t.fetch("/health");
    expect(res.headers.get("X-Frame-Options")).toBe("DENY");
    expect(res.headers.get("Content-Security-Policy")).toBe(SECURITY_HEADERS["Content-Security-Policy"]);
    const pre = await t.fetch("/mcp-app-sandbox", { method: "OPTIONS" });
    expect(pre.headers.get("X-Frame-Options")).toBe("DENY");
  });

  test("the page builders escape what they embed", () => {
    expect(
      sandboxOrigins({ WARDEN_ALLOWED_ORIGINS: "http://127.0.0.1:5173,http://[::1]:3000,https://ok.test" }),
    ).toEqual(["http://127.0.0.1:5173", "http://[::1]:3000", "https://ok.test"]);
    expect(appSandboxHtml(["https://a</script>"])).not.toContain("a</script>");
    expect(appSandboxCsp([])).toContain("frame-ancestors 'none'");
  });
});
