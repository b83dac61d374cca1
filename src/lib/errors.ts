/** Server error codes → what the person in front of the screen should read. */
import { ConvexError } from "convex/values";

export type ErrorInfo = {
  code: string;
  field?: string;
  index?: number;
  retryAfterMs?: number;
  maxChars?: number;
  errors?: { code: string; field: string; index?: number }[];
};

/** An HTTP route's `{ error: CODE }` answer, thrown by our fetch helpers. */
export class CodedError extends Error {
  constructor(
    readonly info: ErrorInfo,
    readonly status = 0,
  ) {
    super(info.code);
  }
}

export function errorInfo(e: unknown): ErrorInfo {
  if (e instanceof CodedError) return e.info;
  if (e instanceof ConvexError) {
    const d = e.data as Record<string, unknown> | string | null;
    if (d && typeof d === "object" && typeof d.code === "string") {
      return {
        code: d.code,
        field: typeof d.field === "string" ? d.field : undefined,
        index: typeof d.index === "number" ? d.index : undefined,
        retryAfterMs: typeof d.retryAfterMs === "number" ? d.retryAfterMs : undefined,
        maxChars: typeof d.maxChars === "number" ? d.maxChars : undefined,
        errors: Array.isArray(d.errors) ? (d.errors as ErrorInfo["errors"]) : undefined,
      };
    }
    if (typeof d === "string") return { code: d };
  }
  if (e instanceof TypeError && /fetch|network/i.test(e.message)) return { code: "NETWORK" };
  const msg = e instanceof Error ? e.message : "";
  if (/ArgumentValidationError|Validator error/i.test(msg)) return { code: "ARGS_INVALID" };
  if (/Could not find public function/i.test(msg)) return { code: "NOT_AVAILABLE" };
  return { code: "INTERNAL" };
}

const TEXT: Record<string, string> = {
  UNAUTHENTICATED: "You are signed out. Sign in again to continue.",
  FORBIDDEN: "You don't have access to this. Ask an owner if you need it.",
  OWNER_INACTIVE: "This account has been deactivated.",
  SIGNIN_FAILED: "That owner key and password don't match an active account.",
  SESSION_INVALID: "This chat session has ended. A new one will start.",
  NOT_FOUND: "This item doesn't exist (or no longer exists).",
  ARGS_INVALID: "Some values aren't valid. Check the form and try again.",
  SKILL_NOT_APPROVED: "This skill hasn't been approved yet.",
  SKILL_INACTIVE: "This skill is disabled.",
  INPUT_INVALID: "The input doesn't match the expected format.",
  RATE_LIMITED: "Too many requests. Wait a moment and try again.",
  LIMIT_UNAVAILABLE: "The rate limiter is unavailable, so the request was refused for safety.",
  DOMAIN_NOT_ALLOWED: "That domain isn't on this skill's allowlist.",
  DOMAIN_INVALID: "Enter a plain domain name like api.example.com — wildcards, IP addresses, schemes and paths aren't allowed.",
  PRIVATE_ADDRESS_BLOCKED: "Private, loopback and internal addresses are blocked.",
  REDIRECT_BLOCKED: "Redirects are blocked for outbound requests.",
  SCHEME_NOT_ALLOWED: "Only https:// URLs are allowed here.",
  PORT_NOT_ALLOWED: "Only the standard port (443, or 80 for http) is allowed.",
  URL_TEMPLATE_INVALID: "The URL template isn't valid. Use {name} placeholders only in the path or query.",
  URL_INVALID: "That URL doesn't parse.",
  USERINFO_NOT_ALLOWED: "URLs can't carry a user name or password (user:pass@).",
  UPSTREAM_ERROR: "The remote service returned an error.",
  TIMEOUT: "The call took too long and was stopped.",
  OUTPUT_TOO_LARGE: "The result was larger than the allowed size.",
  CONFIG_INVALID: "This configuration isn't valid.",
  MCP_SERVER_NOT_APPROVED: "This MCP server hasn't been approved yet.",
  MCP_SERVER_DISABLED: "This MCP server is disabled.",
  MCP_TOOL_NOT_APPROVED: "This tool hasn't been approved.",
  MCP_TOOL_CHANGED: "This tool changed since it was approved. Review it and approve it again.",
  SECRET_ACCESS_DENIED: "Access to that secret was denied.",
  SECRET_DECRYPT_FAILED: "A stored secret could not be decrypted. Set it again.",
  IMAGE_INVALID: "That file isn't a supported image.",
  WEBHOOK_SIGNATURE_INVALID: "The webhook signature didn't verify.",
  WEBHOOK_PAYLOAD_INVALID: "The webhook payload wasn't valid.",
  CHANNEL_USER_BLOCKED: "This user is blocked.",
  MESSAGE_TOO_LONG: "That message is too long.",
  PROVIDER_ERROR: "The model provider failed to answer.",
  TOOL_NOT_ENABLED: "That tool isn't enabled for the agent.",
  ACTIVITY_NOT_PUBLISHABLE: "This kind of entry can't be made public.",
  VOICE_NOT_CONFIGURED: "Voice isn't configured on this server.",
  VOICE_SESSION_INACTIVE: "This voice session has ended.",
  VOICE_AGENT_UNCAPPED: "Voice is off: the ElevenLabs agent's maximum conversation length must be set to 300 seconds or less.",
  PAYLOAD_TOO_LARGE: "That request is too large.",
  ORIGIN_NOT_ALLOWED: "This page's address isn't an allowed origin on the server (WARDEN_ALLOWED_ORIGINS).",
  METHOD_NOT_ALLOWED: "That request method isn't allowed.",
  BAD_REQUEST: "The server couldn't read that request.",
  INTERNAL: "Something went wrong on the server. Try again; if it keeps happening, check the server log.",
  SECRET_KEY_UNAVAILABLE: "The server's encryption key is missing, so secrets can't be stored.",
  SECRET_LIMIT_REACHED: "This item already has the maximum number of secrets.",
  VENDOR_ERROR: "The channel's vendor API refused or failed the call.",
  CHANNEL_NOT_CONFIGURED: "This channel is missing a secret or setting it needs.",
  DELIVERY_UNCERTAIN: "The reply may have reached the vendor before a restart; it was not sent again to avoid a duplicate.",
  DELIVERY_EXPIRED: "The reply could not be delivered before its deadline.",
  AGENT_TIMEOUT: "The assistant did not answer in time. Please try again.",
  NAME_TAKEN: "That name is already used in this workspace.",
  SKILL_ERROR: "The skill failed.",
  SECRET_NOT_SET: "A secret this skill needs hasn't been set.",
  CHANNEL_DISABLED: "This channel is disabled.",
  MCP_SERVER_LIMIT_REACHED: "This workspace has the maximum number of MCP servers. Remove one first.",
  MCP_TOKEN_LIMIT_REACHED: "This workspace has the maximum number of MCP client tokens. Revoke or delete one first.",
  MCP_SESSION_LIMIT: "This MCP client already has the maximum number of open sessions.",
  MCP_TOOL_OUT_OF_SCOPE: "That tool isn't in this client token's scopes.",
  OAUTH_REQUEST_INVALID: "This authorization request is no longer valid (expired, already decided, or unknown). Start the connection again from your MCP client.",
  OAUTH_GRANT_INVALID: "An MCP client presented an authorization it could not prove (wrong verifier, redirect or client).",
  OAUTH_GRANT_REPLAYED: "An MCP client's authorization was used twice, so Warden revoked it. Reconnect the client.",
  MEMBERSHIP_INACTIVE: "Your membership in this workspace has been deactivated. Ask one of its owners.",
  LAST_OWNER: "This would leave the workspace without an active owner. Make someone else an owner first.",
  ALREADY_MEMBER: "That person is already a member here. Change their role or reactivate them in the list above.",
  PASSWORD_INCORRECT: "Your current password isn't right.",
  CODE_INVALID: "This set-password code is not valid: it is unknown, already used, or expired. Ask for a new invite.",
  SESSION_ENDED: "This sign-in session has ended (signed out, ended from another session, or your access changed). Sign in again.",
  ORG_NOT_ACTIVE: "Sign in with Clerk and make the organization you want to link active first.",
  ORG_ADMIN_REQUIRED: "Only an admin of that Clerk organization can link it to a workspace.",
  ORG_ALREADY_LINKED: "That Clerk organization is already linked to another workspace.",
  ORG_NOT_LINKED: "Link a Clerk organization to this workspace first.",
  RUNNER_REQUEST_INVALID: "That runner code is unknown, expired or already used. Start the runner's sign-in again and type the new code.",
  RUNNER_REQUEST_PENDING: "The runner is still waiting for an owner's approval.",
  RUNNER_REQUEST_DENIED: "An owner denied this runner.",
  RUNNER_TOKEN_INVALID: "This runner token is no longer valid (expired, replaced or revoked).",
  CAPABILITY_REQUIRED: "This runner's token does not include that capability.",
  CAPABILITY_NOT_ALLOWED: "Deployment-wide capabilities can be granted only by an owner the operator named in WARDEN_OPERATOR_OWNERS.",
  RUNNER_LIMIT_REACHED: "This workspace has the maximum of live runners. Revoke one first.",
  TOOL_NOT_GRANTED: "The owner hasn't allowed that tool for this kind of visitor.",
  TOOL_NOT_OFFERED: "That tool isn't available in this conversation.",
  APPROVAL_REQUIRED: "That needs the owner's approval first; the answer comes once they decide.",
  APPROVAL_INVALID: "That approval doesn't match this request.",
  APPROVAL_DECIDED: "Someone already decided this request.",
  APPROVAL_EXPIRED: "This request expired before anyone decided it.",
  APPROVAL_QUEUE_FULL: "Several requests are already waiting for the owner. Try again once they have decided.",
  PAIRING_INVALID: "That pairing code is not valid. Ask the owner for a new one.",
  STARTING: "The server is still starting. Try again in a moment.",
  TOO_MANY_IDS: "Too many items in one request (at most 50). Select fewer and try again.",
  SOURCE_BLOCKED: "Chat is not available from your network right now.",
  NETWORK: "Can't reach the server. Check your connection; we'll keep retrying.",
  NOT_AVAILABLE: "This feature isn't available on this server yet.",
  CONFIG_MISSING: "This build doesn't know where its backend is. Start the embedded runtime (npm start), or set VITE_CONVEX_URL for a Convex deployment.",
};

export function friendly(code: string): string {
  return TEXT[code] ?? `The server refused this (${code}).`;
}

/** "42 s", "3 min", "2 h" — for retry hints. */
export function formatWait(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 90) return `${s} s`;
  const m = Math.ceil(s / 60);
  if (m < 90) return `${m} min`;
  return `${Math.ceil(m / 60)} h`;
}

/** A human label for a field path the server named ("config.urlTemplate" → "URL template"). */
export function fieldLabel(field: string | undefined): string | undefined {
  if (!field) return undefined;
  const known: Record<string, string> = {
    "config.urlTemplate": "URL template",
    allowedDomains: "Allowed domains",
    secretNames: "Secret names",
    rateLimitPerMinute: "Rate per minute",
    timeoutMs: "Timeout",
    maxOutputBytes: "Max output",
    apiKeyEnvVar: "Key variable name",
    baseUrl: "Base URL",
    periodMs: "Period",
  };
  return known[field] ?? field;
}
