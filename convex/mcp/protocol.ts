/**
 * Pure MCP helpers shared by the client side (external servers) and Warden's own /mcp server:
 * names and token shapes, tool hashing, the RFC 9728 / RFC 8707 URLs, JSON-RPC inspection and
 * tool-result shaping. No Convex imports, no Node built-ins.
 */
import { sha256Hex } from "../lib/tokens";
import { redactKnown, redactKnownValue, secretMatcher, truncate, utf8Length, type SecretMatcher } from "../lib/redact";

export const MCP_PATH = "/mcp";
export const PRM_PATH = "/.well-known/oauth-protected-resource";

/** Registered server names (used in agent tool names, so the skill-name alphabet). */
export const SERVER_NAME = /^[a-z][a-z0-9_-]{1,62}$/;
/** MCP tool names (spec 2025-11-25: 1–128 of A–Z a–z 0–9 _ - .). Other names are never stored. */
export const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/;
/** Headers the MCP transport or HTTP framing owns; an auth header may not replace them. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-type",
  "content-length",
  "accept",
  "accept-encoding",
  "connection",
  "transfer-encoding",
  "te",
  "upgrade",
  "cookie",
  "mcp-session-id",
  "mcp-protocol-version",
  "last-event-id",
  "origin",
  "user-agent",
]);

export const CLIENT_TOKEN_PREFIX = "wdn_mcp_";
export const SESSION_ID_PREFIX = "mcps_";
/** randomToken(prefix, 32) → prefix + 43 base64url characters. */
const CLIENT_TOKEN = /^wdn_mcp_[A-Za-z0-9_-]{43}$/;
const SESSION_ID = /^mcps_[A-Za-z0-9_-]{43}$/;
/** How much of a client token is kept in clear to recognize it in lists and logs. */
export const TOKEN_PREFIX_CHARS = 12;

/** Name of the MCP server secret that holds the auth header value (secrets/manage:setMcpServerSecret). */
export const AUTH_SECRET_NAME = "AUTH_HEADER";
/** A longer tool description is stored cut to this many UTF-8 bytes plus "…[truncated N bytes]". */
export const MAX_DESCRIPTION_BYTES = 4096;
/** A tool whose input schema (as listed, or as stored after redaction) is larger is not stored. */
export const MAX_TOOL_SCHEMA_BYTES = 32 * 1024;
export const MAX_TOOLS_PER_SERVER = 100;

/**
 * Gateway mode. A client-token scope naming an upstream tool: `mcp:<serverName>/<toolName>` (next
 * to plain skill names). On Warden's /mcp the tool is exposed as `<serverName>.<toolName>`: skill
 * and server names never contain a dot, so the name is stable and cannot collide with a skill or
 * with another server's tool. At most 128 characters (the spec's tool-name limit).
 */
const UPSTREAM_SCOPE = /^mcp:([a-z][a-z0-9_-]{1,62})\/([A-Za-z0-9_.-]{1,128})$/;
export const MAX_EXPOSED_NAME = 128;

export function parseUpstreamScope(scope: string): { server: string; tool: string; exposed: string } | null {
  const m = UPSTREAM_SCOPE.exec(scope);
  if (!m) return null;
  const exposed = `${m[1]}.${m[2]}`;
  return exposed.length <= MAX_EXPOSED_NAME ? { server: m[1], tool: m[2], exposed } : null;
}

export function upstreamScope(server: string, tool: string): string {
  return `mcp:${server}/${tool}`;
}

export function isClientTokenShape(token: string): boolean {
  return CLIENT_TOKEN.test(token);
}
export function isSessionIdShape(id: string): boolean {
  return SESSION_ID.test(id);
}

export function validAuthHeaderName(name: string): boolean {
  return (
    HEADER_NAME.test(name) && !RESERVED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith("proxy-")
  );
}

// ---------------------------------------------------------------------------------------------
// tool hashing

/** JSON with object keys sorted at every level (arrays keep their order; undefined dropped). */
export function canonicalJson(value: unknown): string {
  const seen = new Set<unknown>();
  const norm = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) throw new Error("cycle");
    seen.add(v);
    let out: unknown;
    if (Array.isArray(v)) out = v.map((x) => (x === undefined ? null : norm(x)));
    else {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k];
        if (x !== undefined) o[k] = norm(x);
      }
      out = o;
    }
    seen.delete(v);
    return out;
  };
  return JSON.stringify(norm(value)) ?? "null";
}

/** Pins what a model sees of a tool: sha256 of canonical JSON of {description, inputSchema}. */
export async function toolHash(description: string, inputSchema: unknown): Promise<string> {
  return await sha256Hex(canonicalJson({ description, inputSchema: inputSchema ?? null }));
}

// ---------------------------------------------------------------------------------------------
// listed tools as stored

/**
 * The values of a server's auth header to keep out of anything stored or shown: the whole value,
 * the credential after an auth scheme ("Bearer x" → "x"), and for Basic the decoded "user:pass"
 * and its password.
 */
export function authHeaderSecrets(value: string): string[] {
  const out = [value];
  const m = /^([A-Za-z][\w-]*) +(\S.*)$/.exec(value.trim());
  if (m) {
    out.push(m[2]);
    if (m[1].toLowerCase() === "basic") {
      try {
        const decoded = new TextDecoder("utf-8", { fatal: true }).decode(
          Uint8Array.from(atob(m[2]), (c) => c.charCodeAt(0)),
        );
        out.push(decoded);
        const colon = decoded.indexOf(":");
        if (colon >= 0) out.push(decoded.slice(colon + 1));
      } catch {
        // not base64 / not UTF-8: the raw credential is covered above
      }
    }
  }
  return out;
}

/** MCP tool annotations, kept as booleans only: a suggestion for the owner's risk class, never trusted. */
export type ToolHints = { readOnly?: boolean; destructive?: boolean; openWorld?: boolean };
export type StoredTool = { name: string; description: string; inputSchema: unknown; hash: string; hints?: ToolHints };

function hintsOf(annotations: unknown): ToolHints | undefined {
  if (!annotations || typeof annotations !== "object") return undefined;
  const a = annotations as Record<string, unknown>;
  const out: ToolHints = {};
  if (typeof a.readOnlyHint === "boolean") out.readOnly = a.readOnlyHint;
  if (typeof a.destructiveHint === "boolean") out.destructive = a.destructiveHint;
  if (typeof a.openWorldHint === "boolean") out.openWorld = a.openWorldHint;
  return Object.keys(out).length ? out : undefined;
}

/**
 * A listed tool as stored and shown to owners and the model: the server's secrets removed from the
 * description and schema (every encoding; schema keys too), the description cut to
 * MAX_DESCRIPTION_BYTES, the schema storable. The hash pins exactly what is stored. Null (tool not
 * stored) for a bad name, a name carrying a secret, or a schema over MAX_TOOL_SCHEMA_BYTES before
 * or after redaction.
 */
export async function storedTool(
  listed: { name?: unknown; description?: unknown; inputSchema?: unknown; annotations?: unknown },
  secrets: SecretMatcher | readonly string[],
): Promise<StoredTool | null> {
  const m = secretMatcher(secrets);
  const name = typeof listed.name === "string" ? listed.name : "";
  if (!TOOL_NAME.test(name) || redactKnown(name, m) !== name) return null;
  const raw = listed.inputSchema ?? { type: "object" };
  let rawJson: string | undefined;
  try {
    rawJson = JSON.stringify(raw);
  } catch {
    rawJson = undefined;
  }
  if (rawJson === undefined || utf8Length(rawJson) > MAX_TOOL_SCHEMA_BYTES) return null;
  const inputSchema = storableSchema(redactKnownValue(raw, m));
  const storedJson = typeof inputSchema === "string" ? inputSchema : JSON.stringify(inputSchema);
  if (utf8Length(storedJson) > MAX_TOOL_SCHEMA_BYTES) return null;
  const text = typeof listed.description === "string" ? listed.description : "";
  // redacted before the cut, so the cut cannot leave a fragment of a secret's encoding behind
  const description = truncate(redactKnown(text, m), MAX_DESCRIPTION_BYTES);
  const hints = hintsOf(listed.annotations);
  return {
    name,
    description,
    inputSchema,
    hash: await toolHash(description, inputSchema),
    ...(hints ? { hints } : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// Convex-storable values

const MAX_FIELD_NAME = 1024;
const MAX_DEPTH = 32;

/** True when Convex can store `value` as is (no `$`-keys, ASCII field names, plain JSON). */
export function isConvexStorable(value: unknown, depth = 0): boolean {
  if (depth > MAX_DEPTH) return false;
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return true;
  if (Array.isArray(value)) return value.length <= 8192 && value.every((x) => isConvexStorable(x, depth + 1));
  if (typeof value !== "object") return false;
  if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null) return false;
  for (const [k, x] of Object.entries(value as Record<string, unknown>)) {
    if (k.length === 0 || k.length > MAX_FIELD_NAME || k.startsWith("$")) return false;
    for (let i = 0; i < k.length; i++) {
      const c = k.charCodeAt(i);
      if (c < 0x20 || c > 0x7e) return false;
    }
    if (x === undefined) continue;
    if (!isConvexStorable(x, depth + 1)) return false;
  }
  return true;
}

/** The value itself when Convex can carry it, else its JSON text (the checker parses stored JSON schemas). */
export function convexSafe(value: unknown): unknown {
  if (value === undefined) return null;
  if (isConvexStorable(value)) return value;
  try {
    return JSON.stringify(value) ?? null;
  } catch {
    return null;
  }
}

/**
 * A tool input schema as stored: without the top-level `$schema` dialect tag (validation picks
 * its draft itself), as an object when Convex can store it, else as JSON text.
 */
export function storableSchema(schema: unknown): unknown {
  if (schema && typeof schema === "object" && !Array.isArray(schema) && "$schema" in schema) {
    const { $schema: _dialect, ...rest } = schema as Record<string, unknown>;
    return convexSafe(rest);
  }
  return convexSafe(schema);
}

export function utf8Bytes(s: string): number {
  return new TextEncoder().encode(s).length;
}

// ---------------------------------------------------------------------------------------------
// RFC 8707 resource / RFC 9728 metadata

/** This deployment's MCP resource URL (token audience): `${WARDEN_PUBLIC_BASE_URL || CONVEX_SITE_URL}/mcp`. */
export function mcpResourceUrl(env: Record<string, string | undefined>): string | null {
  const raw = (env.WARDEN_PUBLIC_BASE_URL ?? "").trim() || (env.CONVEX_SITE_URL ?? "").trim();
  if (!raw) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if ((u.protocol !== "https:" && u.protocol !== "http:") || u.username || u.password || u.search || u.hash)
    return null;
  return `${u.origin}${u.pathname.replace(/\/+$/, "")}${MCP_PATH}`;
}

/** RFC 9728 §3.1: metadata URL = origin + well-known path + the resource's path. */
export function protectedResourceMetadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === "/" ? "" : u.pathname.replace(/\/+$/, "");
  return `${u.origin}${PRM_PATH}${path}`;
}

/** `authorizationServer`: the built-in authorization server's issuer (lib/oauth.ts issuerUrl). */
export function protectedResourceMetadata(resource: string, authorizationServer: string | null) {
  return {
    resource,
    authorization_servers: authorizationServer ? [authorizationServer] : ([] as string[]),
    bearer_methods_supported: ["header"],
    // Tokens are scoped to tool names by the owner (token form or consent page); no OAuth scopes to request.
    scopes_supported: [] as string[],
    resource_name: "Warden MCP server",
  };
}

export function wwwAuthenticate(resource: string): string {
  return `Bearer error="invalid_token", resource_metadata="${protectedResourceMetadataUrl(resource)}"`;
}

/** The bearer token of an Authorization header, or null. */
export function parseBearer(header: string | null): string | null {
  if (!header || header.length > 512) return null;
  const m = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
  return m ? m[1] : null;
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC inspection (only what session handling needs; the SDK transport parses for real)

export type MessageSummary = { parsed: boolean; initialize: boolean; methods: string[]; toolCalls: string[] };

export function inspectMessages(body: string): MessageSummary {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { parsed: false, initialize: false, methods: [], toolCalls: [] };
  }
  const list = Array.isArray(raw) ? raw : [raw];
  const methods: string[] = [];
  const toolCalls: string[] = [];
  for (const m of list.slice(0, 100)) {
    if (!m || typeof m !== "object") continue;
    const method = (m as { method?: unknown }).method;
    if (typeof method !== "string") continue;
    methods.push(method.slice(0, 64));
    if (method === "tools/call") {
      const name = (m as { params?: { name?: unknown } }).params?.name;
      if (typeof name === "string") toolCalls.push(name.slice(0, 128));
    }
  }
  return { parsed: true, initialize: methods.includes("initialize"), methods, toolCalls };
}

// ---------------------------------------------------------------------------------------------
// the stateless revision (2026-07-28: SEP-2575, SEP-2567)

/**
 * Revisions served without a session. From 2026-07-28 on there is no initialize and no
 * Mcp-Session-Id: every request names its revision in the MCP-Protocol-Version header and in
 * `params._meta` (with the client's capabilities); `server/discover` replaces the handshake.
 */
export const STATELESS_VERSIONS = ["2026-07-28"] as const;
export const PROTOCOL_VERSION_META = "io.modelcontextprotocol/protocolVersion";
export const CLIENT_CAPABILITIES_META = "io.modelcontextprotocol/clientCapabilities";
export const SERVER_INFO_META = "io.modelcontextprotocol/serverInfo";
/** JSON-RPC error code of the stateless revision for a revision the server does not speak. */
export const UNSUPPORTED_PROTOCOL_VERSION = -32022;

/** Revision identifiers are ISO dates: this one or later belongs to the stateless era (the SDK's own rule). */
export function isStatelessRevision(version: string | null): version is string {
  return version !== null && /^\d{4}-\d{2}-\d{2}$/.test(version) && version >= STATELESS_VERSIONS[0];
}

export type StatelessRequest =
  | { ok: true; id: string | number | null; method: string; params: Record<string, unknown>; notification: boolean }
  | { ok: false; status: number; code: number; message: string; data?: unknown; id: string | number | null };

/** Parses and checks one request of the stateless revision (single message, `_meta` envelope naming `version`). */
export function parseStatelessRequest(body: string, version: string, methodHeader: string | null): StatelessRequest {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    return { ok: false, status: 400, code: -32700, message: "Parse error", id: null };
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw))
    return { ok: false, status: 400, code: -32600, message: "Invalid request", id: null };
  const m = raw as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
  const id = typeof m.id === "string" || (typeof m.id === "number" && Number.isInteger(m.id)) ? m.id : null;
  const notification = m.id === undefined;
  if (m.jsonrpc !== "2.0" || typeof m.method !== "string" || (!notification && id === null)) {
    return { ok: false, status: 400, code: -32600, message: "Invalid request", id };
  }
  // A proxy may route or authorize on Mcp-Method: it must name the method the body carries.
  if (methodHeader !== null && methodHeader !== m.method)
    return { ok: false, status: 400, code: -32600, message: "Mcp-Method does not match the request", id };
  const params =
    m.params && typeof m.params === "object" && !Array.isArray(m.params) ? (m.params as Record<string, unknown>) : {};
  if (notification) return { ok: true, id: null, method: m.method, params, notification };
  if (!(STATELESS_VERSIONS as readonly string[]).includes(version)) {
    return {
      ok: false,
      status: 400,
      code: UNSUPPORTED_PROTOCOL_VERSION,
      message: "Unsupported protocol version",
      data: { supported: [...STATELESS_VERSIONS], requested: version },
      id,
    };
  }
  const meta = params._meta as Record<string, unknown> | undefined;
  const caps = meta?.[CLIENT_CAPABILITIES_META];
  if (!meta || meta[PROTOCOL_VERSION_META] !== version || !caps || typeof caps !== "object" || Array.isArray(caps)) {
    return { ok: false, status: 400, code: -32602, message: "Missing or invalid _meta envelope", id };
  }
  return { ok: true, id, method: m.method, params, notification };
}

// ---------------------------------------------------------------------------------------------
// tool results

export type UiResource = { uri: string; mimeType: string; html: string };
export type ShapedResult = {
  /** MCP Apps: `text/html` resources, kept apart so SyncBoard can render them in a sandboxed iframe. */
  ui?: UiResource[];
  content: unknown[];
  structuredContent?: unknown;
  isError?: boolean;
};

function isHtmlResource(
  item: unknown,
): item is { type: "resource"; resource: { uri: string; mimeType: string; text: string } } {
  if (!item || typeof item !== "object") return false;
  const it = item as { type?: unknown; resource?: { uri?: unknown; mimeType?: unknown; text?: unknown } };
  return (
    it.type === "resource" &&
    typeof it.resource?.uri === "string" &&
    typeof it.resource.mimeType === "string" &&
    /^text\/html\b/i.test(it.resource.mimeType) &&
    typeof it.resource.text === "string"
  );
}

/** An external tool result with its HTML UI resources moved to `ui`. */
export function shapeToolResult(result: {
  content?: unknown;
  structuredContent?: unknown;
  isError?: unknown;
}): ShapedResult {
  const content = Array.isArray(result.content) ? result.content : [];
  const ui: UiResource[] = [];
  const rest: unknown[] = [];
  for (const item of content) {
    if (isHtmlResource(item)) {
      ui.push({
        uri: item.resource.uri.slice(0, 512),
        mimeType: item.resource.mimeType.slice(0, 100),
        html: item.resource.text,
      });
    } else rest.push(item);
  }
  const out: ShapedResult = { ...(ui.length ? { ui } : {}), content: rest };
  if (result.structuredContent !== undefined) out.structuredContent = result.structuredContent;
  if (result.isError === true) out.isError = true;
  return out;
}

/**
 * An upstream tool's checker result (a shaped, redacted result, or its JSON text) as an MCP tool
 * result for Warden's own clients; `ui` resources go back as `resource` content.
 */
export function upstreamResultToMcp(
  r: { ok: true; output: unknown } | { ok: false; code: string; retryAfterMs?: number },
) {
  if (!r.ok) return skillResultToMcp(r);
  let out = r.output;
  if (typeof out === "string") {
    try {
      out = JSON.parse(out);
    } catch {
      out = undefined;
    }
  }
  const shaped = out && typeof out === "object" && !Array.isArray(out) ? (out as Partial<ShapedResult>) : undefined;
  if (!shaped || !Array.isArray(shaped.content)) return skillResultToMcp({ ok: false, code: "UPSTREAM_ERROR" });
  const ui = Array.isArray(shaped.ui) ? shaped.ui : [];
  const content = [
    ...(shaped.content as Array<Record<string, unknown>>),
    ...ui.map((u) => ({ type: "resource", resource: { uri: u.uri, mimeType: u.mimeType, text: u.html } })),
  ];
  const sc = shaped.structuredContent;
  const structured =
    sc !== null && typeof sc === "object" && !Array.isArray(sc) ? (sc as Record<string, unknown>) : undefined;
  return {
    content,
    ...(structured ? { structuredContent: structured } : {}),
    ...(shaped.isError === true ? { isError: true } : {}),
  };
}

/** A skill's checker result as an MCP tool result. */
export function skillResultToMcp(
  r: { ok: true; output: unknown } | { ok: false; code: string; retryAfterMs?: number },
) {
  if (!r.ok) {
    const text = r.retryAfterMs !== undefined ? `${r.code} (retry after ${Math.ceil(r.retryAfterMs / 1000)}s)` : r.code;
    return { content: [{ type: "text" as const, text }], isError: true };
  }
  const out = r.output;
  const text = typeof out === "string" ? out : (JSON.stringify(out) ?? "null");
  const structured =
    out !== null && typeof out === "object" && !Array.isArray(out) ? (out as Record<string, unknown>) : undefined;
  return { content: [{ type: "text" as const, text }], ...(structured ? { structuredContent: structured } : {}) };
}
