import { describe, expect, test } from "vitest";
import { newT } from "../harness";
import { SECURITY_HEADERS } from "../../convex/lib/httpSecurity";

describe("unrouted site paths", () => {
  test("unknown paths and wrong methods answer { error } JSON with every security header", async () => {
    const t = newT();
    const cases: [string, string, number, string][] = [
      ["/no-such-route", "GET", 404, "NOT_FOUND"],
      ["/no-such-route", "POST", 404, "NOT_FOUND"],
      ["/a/b/c?x=1", "DELETE", 404, "NOT_FOUND"],
      ["/health", "PUT", 405, "METHOD_NOT_ALLOWED"],
      ["/chat/session", "GET", 405, "METHOD_NOT_ALLOWED"],
      ["/webhooks/telegram/abc", "GET", 405, "METHOD_NOT_ALLOWED"],
      ["/mcp", "PATCH", 405, "METHOD_NOT_ALLOWED"],
    ];
    for (const [path, method, status, code] of cases) {
      const res = await t.fetch(path, { method, body: method === "GET" ? undefined : "{}" });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({ error: code });
      for (const [h, v] of Object.entries(SECURITY_HEADERS))
        expect(res.headers.get(h), `${method} ${path} ${h}`).toBe(v);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
    }
    const put = await t.fetch("/health", { method: "PUT" });
    expect(put.headers.get("Allow")).toBe("GET, OPTIONS");
  });
});
