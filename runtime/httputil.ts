// Small helpers shared by the runtime's HTTP handlers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { clientIpFrom } from "../convex/lib/clientIp.js";

const requestIds = new WeakMap<IncomingMessage, string>();

/** A fresh request id (16 hex chars). Never taken from the client, so it is safe in logs. */
export function newRequestId(): string {
  return randomBytes(8).toString("hex");
}

/** Gives a request its id and sends it as `X-Request-Id` on whatever answer follows. */
export function assignRequestId(req: IncomingMessage, res?: ServerResponse): string {
  const id = newRequestId();
  requestIds.set(req, id);
  res?.setHeader("X-Request-Id", id);
  return id;
}

export function requestIdOf(req: IncomingMessage | undefined): string | undefined {
  return req ? requestIds.get(req) : undefined;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
  ) {
    super(code);
  }
}

/** Reads a request body, refusing more than `limit` bytes (413). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw new HttpError(413, "PAYLOAD_TOO_LARGE");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, "PAYLOAD_TOO_LARGE");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Sends JSON; an error answer (status ≥ 400) with an object body also carries the request's id. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const requestId = requestIdOf(res.req);
  if (status >= 400 && requestId && typeof body === "object" && body !== null && !Array.isArray(body))
    body = { ...body, requestId };
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    ...headers,
  });
  res.end(text);
}

/** The socket's peer: what a Convex deployment reports as the request's IP. Site routes resolve proxies themselves. */
export function peerAddress(req: IncomingMessage): string | undefined {
  return req.socket.remoteAddress ?? undefined;
}

/**
 * The client's IP for callers whose functions never see the headers (WebSocket, /api/*): the
 * peer, then X-Forwarded-For only through WARDEN_TRUSTED_PROXIES (the same rule as convex/access/http).
 */
export function clientIp(req: IncomingMessage): string {
  const xff = req.headers["x-forwarded-for"];
  return clientIpFrom(peerAddress(req), Array.isArray(xff) ? xff.join(", ") : xff, process.env);
}

/** Convert a Node request's headers to a Fetch Headers object. */
export function toHeaders(req: IncomingMessage): Headers {
  const h = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i];
    if (/^(connection|keep-alive|transfer-encoding|upgrade|host)$/i.test(name)) continue;
    h.append(name, req.rawHeaders[i + 1]);
  }
  return h;
}
