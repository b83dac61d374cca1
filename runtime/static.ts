// Serves the built SyncBoard (dist/) on the main port with SPA fallback and security headers, plus
// /warden-config.json (the UI reads its backend URLs from there; CSP forbids inline scripts).
import { existsSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, join, resolve, sep } from "node:path";

const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".webmanifest": "application/manifest+json",
};

export type StaticOptions = { distDir: string; url: string; siteUrl: string; authMode: string; extraOrigins: string[] };

export function contentSecurityPolicy(o: StaticOptions): string {
  const ws = o.url.replace(/^http/, "ws");
  const extra = o.extraOrigins.join(" ");
  const clerk = o.extraOrigins.length > 0;
  return [
    "default-src 'self'",
    `script-src 'self'${clerk ? ` ${extra}` : ""}`,
    `style-src 'self'${clerk ? " 'unsafe-inline'" : ""}`,
    `img-src 'self' data: blob:${clerk ? ` ${extra} https://img.clerk.com` : ""}`,
    "font-src 'self' data:",
    `connect-src 'self' ${ws} ${o.url} ${o.siteUrl}${clerk ? ` ${extra}` : ""}`,
    // MCP Apps run in the site origin's /mcp-app-sandbox page (its own CSP), never in this origin.
    `frame-src ${new URL(o.siteUrl).origin}${clerk ? ` ${extra}` : ""}`,
    "worker-src 'self' blob:",
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "object-src 'none'",
  ].join("; ");
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warden</title></head>
<body><main><h1>Warden is running</h1><p>SyncBoard is not built yet. Run <code>npx vite build</code>
(or restart with <code>npm start</code>, which builds it when it can), then reload this page.</p></main></body></html>`;

export class StaticSite {
  private readonly dist: string;
  private readonly headers: Record<string, string>;

  constructor(private readonly o: StaticOptions) {
    this.dist = resolve(o.distDir);
    this.headers = {
      "Content-Security-Policy": contentSecurityPolicy(o),
      "X-Frame-Options": "DENY",
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Resource-Policy": "same-origin",
    };
  }

  get built() {
    return existsSync(join(this.dist, "index.html"));
  }

  handle(req: IncomingMessage, res: ServerResponse, url: URL) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { ...this.headers, Allow: "GET, HEAD" });
      return void res.end();
    }
    if (url.pathname === "/warden-config.json") {
      const body = JSON.stringify({ convexUrl: this.o.url, siteUrl: this.o.siteUrl, authMode: this.o.authMode });
      return this.send(req, res, 200, "application/json; charset=utf-8", Buffer.from(body), "no-store");
    }
    if (!this.built) return this.send(req, res, 200, MIME[".html"], Buffer.from(NOT_BUILT), "no-store");
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return this.send(req, res, 400, "text/plain; charset=utf-8", Buffer.from("Bad request"), "no-store");
    }
    const segments = rel.split("/").filter(Boolean);
    const safe = !rel.includes("\0") && !segments.some((s) => s.startsWith(".") || s.includes("\\"));
    const file = resolve(this.dist, ...segments);
    if (
      safe &&
      (file === this.dist || file.startsWith(this.dist + sep)) &&
      existsSync(file) &&
      statSync(file).isFile()
    ) {
      const immutable = segments[0] === "assets";
      const type = MIME[extname(file).toLowerCase()] ?? "application/octet-stream";
      return this.send(
        req,
        res,
        200,
        type,
        readFileSync(file),
        immutable ? "public, max-age=31536000, immutable" : "no-cache",
      );
    }
    // SPA fallback for page routes; missing assets stay 404.
    if (safe && extname(rel) === "")
      return this.send(req, res, 200, MIME[".html"], readFileSync(join(this.dist, "index.html")), "no-cache");
    return this.send(req, res, 404, "text/plain; charset=utf-8", Buffer.from("Not found"), "no-store");
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer, cache: string) {
    res.writeHead(status, {
      ...this.headers,
      "Content-Type": type,
      "Content-Length": body.length,
      "Cache-Control": cache,
    });
    res.end(req.method === "HEAD" ? undefined : body);
  }
}
