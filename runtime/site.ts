// Serves convex/http.ts routes on the site port. Like Convex, a valid `Authorization: Bearer <jwt>`
// gives the route an identity; anything else runs unauthenticated (the route decides).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Engine, Durability } from "./engine.js";
import type { AuthVerifier } from "./auth.js";
import type { Identity } from "./internals.js";
import { HttpError, peerAddress, readBody, requestIdOf, sendJson, toHeaders } from "./httputil.js";
import { SECURITY_HEADERS } from "../convex/lib/httpSecurity.js";

const SITE_BODY_LIMIT = 20 * 1024 * 1024;

export class SiteHandler {
  constructor(
    private readonly engine: Engine,
    private readonly auth: AuthVerifier,
    private readonly durability: Durability,
    private readonly opts: { siteUrl: string; isReady: () => boolean },
  ) {}

  private async identity(req: IncomingMessage): Promise<Identity | null> {
    const m = /^Bearer\s+([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(req.headers.authorization ?? "");
    if (!m) return null;
    try {
      return (await this.auth.verify(m[1])).identity;
    } catch {
      return null;
    }
  }

  /** Run a route in-process (used for our own JWKS URL). */
  fetchLocal(url: string): Promise<Response> {
    return this.engine.backend.fetchRoute(this.engine.backend.root, url, { method: "GET" });
  }

  isLocal(url: string) {
    try {
      return new URL(url).origin === new URL(this.opts.siteUrl).origin;
    } catch {
      return false;
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse) {
    const path = (req.url ?? "/").split("?")[0];
    // Answers the runtime writes itself carry the same headers and `{ error }` bodies as the routes.
    const fail = (status: number, code: string, extra: Record<string, string> = {}) =>
      sendJson(res, status, { error: code }, { ...SECURITY_HEADERS, ...extra });
    if (!this.opts.isReady()) return fail(503, "STARTING", { "Retry-After": "1" });
    try {
      const method = req.method ?? "GET";
      const body =
        method === "GET" || method === "HEAD" ? undefined : new Uint8Array(await readBody(req, SITE_BODY_LIMIT));
      const identity = await this.identity(req);
      const ua = req.headers["user-agent"];
      // The socket address travels as request metadata, a channel no header can reach.
      const accessor = this.engine.accessor({
        identity,
        ip: peerAddress(req),
        userAgent: typeof ua === "string" ? ua : undefined,
      });
      const realUrl = this.opts.siteUrl + (req.url ?? "/");
      const abort = new AbortController();
      res.on("close", () => abort.abort());
      let response = await this.engine.backend.fetchRoute(accessor, realUrl, {
        method,
        headers: toHeaders(req),
        body,
        signal: abort.signal,
      });
      if (response.status === 404 && (await response.clone().text()).startsWith("No HttpAction routed")) {
        if (path === "/health" && method === "GET")
          response = Response.json({ status: "ok" }, { headers: SECURITY_HEADERS });
        else return fail(404, "NOT_FOUND");
      }
      await this.durability.sync();
      const headers: Record<string, string | string[]> = {};
      response.headers.forEach((v, k) => {
        if (k !== "set-cookie" && k !== "content-length" && k !== "transfer-encoding") headers[k] = v;
      });
      const cookies = response.headers.getSetCookie();
      if (cookies.length) headers["set-cookie"] = cookies;
      res.writeHead(response.status, headers);
      if (!response.body || method === "HEAD") return void res.end();
      const reader = response.body.getReader();
      res.on("close", () => void reader.cancel().catch(() => undefined));
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (!res.write(value))
          await new Promise((r) => {
            res.once("drain", r);
            res.once("close", r);
          });
      }
      res.end();
    } catch (e) {
      if (e instanceof HttpError) return fail(e.status, e.code);
      if (!res.headersSent) {
        console.error(`[runtime] http route ${req.method} ${path} failed (request ${requestIdOf(req)}):`, e);
        return fail(500, "INTERNAL");
      }
      res.destroy();
    }
  }
}
