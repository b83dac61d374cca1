// The Convex HTTP API on the main port (/api/query, /api/mutation, /api/action, /api/function,
// /api/query_ts, /api/query_at_ts) with CORS for configured origins, plus file storage endpoints.
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { convexToJson, jsonToConvex } from "convex/values";
import type { Engine, Kind, CallResult } from "./engine.js";
import { AuthFailure, type AuthVerifier } from "./auth.js";
import type { Durability } from "./engine.js";
import type { Identity } from "./internals.js";
import { encodeTs } from "./sync.js";
import { HttpError, clientIp, readBody, requestIdOf, sendJson } from "./httputil.js";

const STATUS_UDF_FAILED = 560;
const API_BODY_LIMIT = 1024 * 1024;
const UPLOAD_LIMIT = 64 * 1024 * 1024;
const UPLOAD_TOKEN_TTL_MS = 60 * 60_000;

const ENDPOINTS: Record<string, Kind | "any" | "ts"> = {
  "/api/query": "query",
  "/api/query_at_ts": "query",
  "/api/mutation": "mutation",
  "/api/action": "action",
  "/api/function": "any",
  "/api/query_ts": "ts",
};

function sniff(bytes: Uint8Array): string {
  const starts = (...b: number[]) => b.every((x, i) => bytes[i] === x);
  if (starts(0x89, 0x50, 0x4e, 0x47)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  if (
    starts(0x52, 0x49, 0x46, 0x46) &&
    bytes[8] === 0x57 &&
    bytes[9] === 0x45 &&
    bytes[10] === 0x42 &&
    bytes[11] === 0x50
  )
    return "image/webp";
  if (starts(0x25, 0x50, 0x44, 0x46)) return "application/pdf";
  return "application/octet-stream";
}

/** Storage URLs handed to functions (instead of convex-test's fake ones); upload tokens are single-use. */
export class StorageUrls {
  readonly tokens = new Map<string, number>();
  constructor(private readonly mainUrl: string) {}
  fileUrl(sha256Base64: string) {
    return `${this.mainUrl}/api/storage/${Buffer.from(sha256Base64, "base64").toString("base64url")}`;
  }
  uploadUrl() {
    const now = Date.now();
    for (const [t, exp] of this.tokens) if (exp < now) this.tokens.delete(t);
    const token = randomBytes(24).toString("base64url");
    this.tokens.set(token, now + UPLOAD_TOKEN_TTL_MS);
    return `${this.mainUrl}/api/storage/upload?token=${token}`;
  }
  /** True once per valid, unexpired token. */
  consume(token: string) {
    const exp = this.tokens.get(token);
    this.tokens.delete(token);
    return exp !== undefined && exp >= Date.now();
  }
}

export class ApiHandler {
  constructor(
    private readonly engine: Engine,
    private readonly auth: AuthVerifier,
    private readonly durability: Durability,
    private readonly storage: StorageUrls,
    private readonly opts: { allowedOrigins: Set<string> },
  ) {}

  private corsHeaders(req: IncomingMessage): Record<string, string> | null {
    const origin = req.headers.origin;
    if (!origin) return {};
    if (!this.opts.allowedOrigins.has(origin)) return null;
    return {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Credentials": "false",
      Vary: "Origin",
    };
  }

  private async identity(req: IncomingMessage): Promise<Identity | null> {
    const h = req.headers.authorization;
    if (!h) return null;
    const bearer = /^Bearer\s+(\S+)$/i.exec(h);
    if (!bearer) throw new HttpError(401, /^Convex\s/i.test(h) ? "AdminAuthNotSupported" : "InvalidAuthHeader");
    try {
      return (await this.auth.verify(bearer[1])).identity;
    } catch (e) {
      throw new HttpError(401, e instanceof AuthFailure ? "Unauthenticated" : "AuthError");
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const cors = this.corsHeaders(req);
    if (cors === null) return sendJson(res, 403, { code: "OriginNotAllowed" });
    try {
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          ...cors,
          "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
          "Access-Control-Allow-Headers": "Content-Type, Authorization, Convex-Client",
          "Access-Control-Max-Age": "600",
        });
        return void res.end();
      }
      if (url.pathname === "/api/storage/upload") return await this.upload(req, res, url, cors);
      if (url.pathname.startsWith("/api/storage/")) return this.download(req, res, url, cors);
      const kind = ENDPOINTS[url.pathname];
      if (!kind) return sendJson(res, 404, { code: "NotFound" }, cors);
      if (req.method !== "POST")
        return sendJson(res, 405, { code: "MethodNotAllowed" }, { ...cors, Allow: "POST, OPTIONS" });
      const raw = await readBody(req, API_BODY_LIMIT);
      if (kind === "ts") return sendJson(res, 200, { ts: encodeTs(this.engine.backend.lastCommitTs()) }, cors);
      let body: any;
      try {
        body = JSON.parse(raw.toString("utf8") || "null");
      } catch {
        throw new HttpError(400, "BadJsonBody");
      }
      if (typeof body !== "object" || body === null || typeof body.path !== "string")
        throw new HttpError(400, "BadRequest");
      if (body.format !== undefined && body.format !== "convex_encoded_json" && body.format !== "json")
        throw new HttpError(400, "UnsupportedFormat");
      const identity = await this.identity(req);
      let result: CallResult;
      if (body.componentPath) {
        result = { ok: false, errorMessage: "Calling functions of components is not allowed", logLines: [] };
      } else {
        let args: unknown;
        try {
          args = jsonToConvex(
            Array.isArray(body.args) ? (body.args.length === 1 ? body.args[0] : null) : (body.args ?? {}),
          );
        } catch {
          throw new HttpError(400, "BadArguments");
        }
        const ua = req.headers["user-agent"];
        result = await this.engine.call(kind as Kind | "any", body.path, args, {
          identity,
          ip: clientIp(req),
          userAgent: typeof ua === "string" ? ua : undefined,
          requestId: requestIdOf(req),
        });
      }
      if (result.ok)
        return sendJson(
          res,
          200,
          { status: "success", value: convexToJson((result.value ?? null) as any), logLines: result.logLines },
          cors,
        );
      const out: Record<string, unknown> = {
        status: "error",
        errorMessage: result.errorMessage,
        logLines: result.logLines,
      };
      if (result.errorData !== undefined) out.errorData = result.errorData;
      return sendJson(res, STATUS_UDF_FAILED, out, cors);
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, e.status, { code: e.code }, cors);
      console.error(`[runtime] API error (request ${requestIdOf(req)})`, e);
      return sendJson(res, 500, { code: "InternalServerError" }, cors);
    }
  }

  private async upload(req: IncomingMessage, res: ServerResponse, url: URL, cors: Record<string, string>) {
    if (req.method !== "POST") return sendJson(res, 405, { code: "MethodNotAllowed" }, cors);
    if (!this.storage.consume(url.searchParams.get("token") ?? ""))
      return sendJson(res, 401, { code: "InvalidUploadToken" }, cors);
    const bytes = await readBody(req, UPLOAD_LIMIT);
    const blob = new Blob([new Uint8Array(bytes)]);
    const storageId = await this.engine.backend.root.run(async (ctx) => await ctx.storage.store(blob));
    await this.durability.sync();
    return sendJson(res, 200, { storageId }, cors);
  }

  private download(req: IncomingMessage, res: ServerResponse, url: URL, cors: Record<string, string>) {
    if (req.method !== "GET" && req.method !== "HEAD") return sendJson(res, 405, { code: "MethodNotAllowed" }, cors);
    const key = url.pathname.slice("/api/storage/".length);
    if (!/^[A-Za-z0-9_-]{43}$/.test(key)) return sendJson(res, 404, { code: "NotFound" }, cors);
    const sha = Buffer.from(key, "base64url").toString("base64");
    const backend = this.engine.backend;
    const doc = backend.storageDocs("").find((d) => d.sha256 === sha);
    const blob = doc ? backend.getBlob("", doc._id) : null;
    if (!blob) return sendJson(res, 404, { code: "NotFound" }, cors);
    void blob.arrayBuffer().then((ab) => {
      const bytes = new Uint8Array(ab);
      res.writeHead(200, {
        ...cors,
        "Content-Type": sniff(bytes),
        "Content-Length": bytes.length,
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, max-age=3600",
      });
      res.end(req.method === "HEAD" ? undefined : bytes);
    });
  }
}
