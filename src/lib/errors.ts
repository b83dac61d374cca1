/** Server error codes → what the person in front of the screen should read. */
import { ConvexError } from "convex/values";
import { visitorSentence } from "../../convex/lib/visitorText";
import { codeGroupOf } from "../../convex/lib/codeGroups";

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
  DOMAIN_INVALID:
    "Enter a plain domain name like api.example.com — wildcards, IP addresses, schemes and paths aren't allowed.",
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
  MCP_OAUTH_REQUIRED: "This MCP server needs an OAuth connection. Press Connect.",
  MCP_OAUTH_REVOKED: "The MCP server's authorization was revoked or expired. Connect again, then enable the server.",
  MCP_OAUTH_STATE_INVALID: "That authorization link is no longer valid. Press Connect again.",
  MCP_OAUTH_DISCOVERY_FAILED: "Warden could not find a usable OAuth authorization server for this MCP server.",
  MCP_OAUTH_CLIENT_REQUIRED:
    "This authorization server does not let Warden register itself. Enter a pre-registered client id.",
  MCP_OAUTH_EXCHANGE_FAILED: "The authorization server refused the authorization. Press Connect again.",
  MCP_OAUTH_DENIED: "The authorization was declined.",
  UPSTREAM_UNAUTHORIZED: "The MCP server refused Warden's access token.",
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
  VOICE_AGENT_UNCAPPED:
    "Voice is off: the ElevenLabs agent's maximum conversation length must be set to 300 seconds or less.",
  PAYLOAD_TOO_LARGE: "That request is too large.",
  ORIGIN_NOT_ALLOWED: "This page's address isn't an allowed origin on the server (WARDEN_ALLOWED_ORIGINS).",
  METHOD_NOT_ALLOWED: "That request method isn't allowed.",
  BAD_REQUEST: "The server couldn't read that request.",
  INTERNAL: "Something went wrong on the server. Try again; if it keeps happening, check the server log.",
  SECRET_KEY_UNAVAILABLE: "The server's encryption key is missing, so secrets can't be stored.",
  SECRET_LIMIT_REACHED: "This item already has the maximum number of secrets.",
  VENDOR_ERROR: "The channel's vendor API refused or failed the call.",
  CHANNEL_NOT_CONFIGURED: "This channel is missing a secret or setting it needs.",
  DELIVERY_UNCERTAIN:
    "The reply may have reached the vendor before a restart; it was not sent again to avoid a duplicate.",
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
  OAUTH_REQUEST_INVALID:
    "This authorization request is no longer valid (expired, already decided, or unknown). Start the connection again from your MCP client.",
  OAUTH_GRANT_INVALID:
    "An MCP client presented an authorization it could not prove (wrong verifier, redirect or client).",
  OAUTH_GRANT_REPLAYED: "An MCP client's authorization was used twice, so Warden revoked it. Reconnect the client.",
  MEMBERSHIP_INACTIVE: "Your membership in this workspace has been deactivated. Ask one of its owners.",
  LAST_OWNER: "This would leave the workspace without an active owner. Make someone else an owner first.",
  ALREADY_MEMBER: "That person is already a member here. Change their role or reactivate them in the list above.",
  PASSWORD_INCORRECT: "Your current password isn't right.",
  CODE_INVALID: "This set-password code is not valid: it is unknown, already used, or expired. Ask for a new invite.",
  SESSION_ENDED:
    "This sign-in session has ended (signed out, ended from another session, or your access changed). Sign in again.",
  ORG_NOT_ACTIVE: "Sign in with Clerk and make the organization you want to link active first.",
  ORG_ADMIN_REQUIRED: "Only an admin of that Clerk organization can link it to a workspace.",
  ORG_ALREADY_LINKED: "That Clerk organization is already linked to another workspace.",
  ORG_NOT_LINKED: "Link a Clerk organization to this workspace first.",
  RUNNER_REQUEST_INVALID:
    "That runner code is unknown, expired or already used. Start the runner's sign-in again and type the new code.",
  RUNNER_REQUEST_PENDING: "The runner is still waiting for an owner's approval.",
  RUNNER_REQUEST_DENIED: "An owner denied this runner.",
  RUNNER_TOKEN_INVALID: "This runner token is no longer valid (expired, replaced or revoked).",
  CAPABILITY_REQUIRED: "This runner's token does not include that capability.",
  CAPABILITY_NOT_ALLOWED:
    "Deployment-wide capabilities can be granted only by an owner the operator named in WARDEN_OPERATOR_OWNERS.",
  RUNNER_LIMIT_REACHED: "This workspace has the maximum of live runners. Revoke one first.",
  TWO_PERSON_RULE:
    "The two-person rule is on: the person who made this change can't approve it. Ask another admin or owner.",
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
  CONFIG_MISSING:
    "This build doesn't know where its backend is. Start the embedded runtime (npm start), or set VITE_CONVEX_URL for a Convex deployment.",
};

export function friendly(code: string): string {
  return TEXT[code] ?? `The server refused this (${code}).`;
}

/** For visitors (/chat, channel replies): a plain sentence that never shows the code. */
export function visitorText(code: string): string {
  return visitorSentence(code);
}

export type Explanation = { meaning: string; todo: string };

/** What a code means to an owner and what to do about it: by code group, with per-code overrides. */
const EXPLAIN_GROUP: Record<string, Explanation> = {
  ok: { meaning: "The checker allowed the call and it ran.", todo: "Nothing to do." },
  access: {
    meaning:
      "The caller couldn't prove who they are, or isn't allowed here (signed out, inactive, blocked, or a foreign origin).",
    todo: "If this was you, sign in again. If it repeats from one source, follow the source link and block it.",
  },
  approval: {
    meaning: "The skill or MCP server isn't approved, is disabled, or changed since its approval.",
    todo: "Open it, review what changed and approve it — or leave it off if it shouldn't run.",
  },
  agency: {
    meaning:
      "The tool is approved, but the grant for this audience (web visitors, unknown or paired senders) didn't allow this call.",
    todo: "Check Tool access: give the audience allow or ask, or keep it denied. Decide waiting calls under Approvals.",
  },
  egress: {
    meaning:
      "The call tried to reach a host that isn't on the allowlist, a private or internal address, or a redirect — and was stopped before connecting.",
    todo: "If the host is legitimate, add its exact name to the skill's allowed domains (it then needs a new review). Otherwise this may be an injection attempt: check the conversation.",
  },
  limits: {
    meaning: "A rate limit or budget was reached, so the call was refused before it ran.",
    todo: "If the traffic is legitimate, raise the limit under Rate limits; if not, block the source.",
  },
  input: {
    meaning:
      "The input or output didn't fit: schema mismatch, too long, too slow or too large, or the remote service failed.",
    todo: "Compare the input preview with the skill's input schema, or raise the timeout or output cap on the skill if the service is just slow or verbose.",
  },
  webhook: {
    meaning: "An inbound webhook wasn't signed with this channel's secret, or its body didn't parse.",
    todo: "Check the channel's verify secret matches the vendor's console; repeated failures from one source may be a forgery attempt.",
  },
  secrets: {
    meaning: "A secret couldn't be read: another skill's secret, or it can't be decrypted with the server's keys.",
    todo: "Set the secret again on the skill, channel or MCP server that owns it.",
  },
  mcp: {
    meaning: "An MCP client stepped outside its token: another client's session or a tool not in its scopes.",
    todo: "Review the client token's scopes; revoke it if you don't recognise the calls.",
  },
  other: {
    meaning: "The server refused or failed this request.",
    todo: "Check the code below and the server log if it keeps happening.",
  },
};
const EXPLAIN_CODE: Record<string, Partial<Explanation>> = {
  INPUT_INVALID: {
    meaning:
      "The input didn't match the skill's input schema (a required field missing, a wrong type, an unknown field, or too long), so the skill never ran.",
    todo: "Compare the input preview with the input schema on the skill's page and try it in “Test this skill”.",
  },
  TIMEOUT: {
    todo: "Raise the timeout on the skill or MCP server if the remote is just slow; otherwise check the remote service.",
  },
  OUTPUT_TOO_LARGE: {
    todo: "Raise “Max output” on the skill or server, or narrow what the remote returns (e.g. a JSON pointer).",
  },
  UPSTREAM_ERROR: {
    meaning: "The remote service answered with an error status or an unreadable body.",
    todo: "Check the remote service and any API key secret the skill sends.",
  },
  RATE_LIMITED: {
    todo: "Raise the named limit under Rate limits if this is legitimate traffic; block the source if not.",
  },
  LIMIT_UNAVAILABLE: {
    meaning: "The limiter couldn't be evaluated, so the call was refused (limits fail closed).",
    todo: "Usually transient; if it repeats, check the server log.",
  },
  SKILL_NOT_APPROVED: {
    meaning: "The skill isn't approved (or doesn't exist): nothing runs until an admin approves it.",
  },
  TOOL_NOT_ENABLED: {
    meaning: "The agent named a skill or MCP server its configuration doesn't enable.",
    todo: "Enable it on the Agent page if the agent should use it.",
  },
  TOOL_NOT_OFFERED: {
    meaning: "The agent named a tool it wasn't offered in this conversation (its audience has no grant for it).",
  },
  MCP_TOOL_CHANGED: {
    meaning: "The MCP server changed this tool's description or schema since it was approved, so it's blocked.",
    todo: "Open the server, compare the tool and approve it again if the change is fine.",
  },
  PROVIDER_ERROR: {
    meaning: "The model provider failed or refused to answer (key, quota, network).",
    todo: "Check Model providers: the key variable is set on the server and the provider is reachable.",
  },
  TWO_PERSON_RULE: {
    meaning: "The two-person rule is on and the approver is the person who made the change.",
    todo: "Ask another admin or owner to review and approve it.",
  },
  WEBHOOK_SIGNATURE_INVALID: {
    todo: "Make sure the channel's verify secret is exactly the one in the vendor's console (regenerate both if unsure).",
  },
  PRIVATE_ADDRESS_BLOCKED: {
    meaning:
      "The host resolved to a private, loopback or internal address; outbound calls may only reach the public internet.",
  },
  ABUSE_ALERT: {
    meaning: "One source was refused many times in a short window.",
    todo: "Follow the source link and block it, or revoke its token.",
  },
  SECRET_NOT_SET: {
    meaning: "A secret the skill's configuration references has no value yet.",
    todo: "Set it in the skill's Secrets card.",
  },
  CHANNEL_NOT_CONFIGURED: { todo: "Open Channels and set the missing secret or setting." },
  VENDOR_ERROR: {
    todo: "Check the channel's send token and the vendor's status; the channel's health badge shows the last failure.",
  },
};

/** An owner-facing explanation of a code (SyncBoard logs and detail pages). */
export function explain(code: string): Explanation {
  const base = EXPLAIN_GROUP[codeGroupOf(code)] ?? EXPLAIN_GROUP.other;
  const own = EXPLAIN_CODE[code] ?? {};
  return {
    meaning: own.meaning ?? (codeGroupOf(code) === "other" && TEXT[code] ? TEXT[code] : base.meaning),
    todo: own.todo ?? base.todo,
  };
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
