/**
 * `GET /mcp-app-sandbox`: the host page for MCP Apps, served from this deployment's site origin
 * (never SyncBoard's), so an app's inline scripts run under this page's CSP instead of SyncBoard's.
 * SyncBoard frames it with `sandbox="allow-scripts"` (opaque origin) and posts the app's HTML once;
 * the page accepts exactly one such message from its parent with an allowed origin, renders the HTML
 * in a nested `sandbox="allow-scripts"` srcdoc frame (which inherits this CSP: connect-src 'none'),
 * and relays only that nested frame's messages to the parent.
 */
import { endpoint } from "../../access/http";
import { allowedOrigins } from "../../lib/httpSecurity";
import type { RouteSpec } from "../../routes";

export const APP_SANDBOX_PATH = "/mcp-app-sandbox";

/** SyncBoard origins that may frame the page: WARDEN_ALLOWED_ORIGINS, only well-formed http(s) origins. */
export function sandboxOrigins(env: Record<string, string | undefined>): string[] {
  return allowedOrigins(env).filter(
    (o) => /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$/i.test(o) || /^https?:\/\/\[[0-9a-f:.]+\](:\d{1,5})?$/i.test(o),
  );
}

export function appSandboxCsp(origins: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline'",
    "style-src 'unsafe-inline'",
    "img-src data:",
    "connect-src 'none'",
    `frame-ancestors ${origins.length ? origins.join(" ") : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join("; ");
}

/** The page; `origins` is embedded as JSON with `<` escaped so it can't end the script element. */
export function appSandboxHtml(origins: string[]): string {
  const list = JSON.stringify(origins).replace(/</g, "\\u003c");
  return `<!doctype html><html><head><meta charset="utf-8"><title>MCP App</title>
<style>html,body{margin:0;padding:0}iframe{border:0;width:100%;height:100vh;display:block}</style></head>
<body><script>
(function () {
  var allowed = ${list};
  var parentOrigin = null;
  var inner = null;
  window.addEventListener("message", function (event) {
    if (inner && event.source === inner.contentWindow) {
      parent.postMessage(event.data, parentOrigin);
      return;
    }
    if (parentOrigin !== null || event.source !== window.parent || allowed.indexOf(event.origin) < 0) return;
    var d = event.data;
    if (!d || d.type !== "warden:mcp-app" || typeof d.html !== "string") return;
    parentOrigin = event.origin;
    inner = document.createElement("iframe");
    inner.setAttribute("sandbox", "allow-scripts");
    inner.setAttribute("referrerpolicy", "no-referrer");
    inner.setAttribute("title", "MCP App");
    inner.srcdoc = d.html;
    document.body.appendChild(inner);
  });
})();
</script></body></html>`;
}

export const appSandbox = endpoint(
  "none",
  async () => {
    const html = appSandboxHtml(sandboxOrigins(process.env));
    return new Response(html, { status: 200, headers: { "Content-Type": "text/html; charset=utf-8" } });
  },
  { cors: false, frameable: { csp: () => appSandboxCsp(sandboxOrigins(process.env)) } },
);

export const appSandboxRoutes: RouteSpec[] = [{ path: APP_SANDBOX_PATH, method: "GET", handler: appSandbox }];
