import { v } from "convex/values";

/**
 * The error-code catalogue. Every caller-visible error carries exactly one of these.
 * Extend it; never reuse a code for another meaning.
 */
export const CODES = [
  // access
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "OWNER_INACTIVE",
  "SIGNIN_FAILED",
  "SESSION_INVALID",
  "NOT_FOUND",
  "ARGS_INVALID",
  // checker
  "SKILL_NOT_APPROVED",
  "SKILL_INACTIVE",
  "INPUT_INVALID",
  "RATE_LIMITED",
  "LIMIT_UNAVAILABLE",
  "DOMAIN_NOT_ALLOWED",
  "DOMAIN_INVALID",
  "PRIVATE_ADDRESS_BLOCKED",
  "REDIRECT_BLOCKED",
  "SCHEME_NOT_ALLOWED",
  "PORT_NOT_ALLOWED",
  "URL_TEMPLATE_INVALID",
  "URL_INVALID", // an outbound URL does not parse
  "USERINFO_NOT_ALLOWED", // an outbound URL carries user:pass@
  "UPSTREAM_ERROR",
  "TIMEOUT",
  "OUTPUT_TOO_LARGE",
  "CONFIG_INVALID",
  "MCP_SERVER_NOT_APPROVED",
  "MCP_SERVER_DISABLED",
  "MCP_TOOL_NOT_APPROVED",
  "MCP_TOOL_CHANGED",
  // OAuth to upstream MCP servers (mcp/outbound/upstreamOAuth.ts)
  "MCP_OAUTH_REQUIRED", // the server uses OAuth and is not connected (an owner presses Connect)
  "MCP_OAUTH_REVOKED", // the upstream AS refused to renew the grant: server disabled until connected again
  "MCP_OAUTH_STATE_INVALID", // an authorization came back with an unknown, spent, expired or re-bound state
  "MCP_OAUTH_DISCOVERY_FAILED", // no usable protected-resource / authorization-server metadata
  "MCP_OAUTH_CLIENT_REQUIRED", // the AS offers no dynamic registration: a pre-registered client id is needed
  "MCP_OAUTH_EXCHANGE_FAILED", // the AS refused the authorization code
  "MCP_OAUTH_DENIED", // the person declined at the AS
  "UPSTREAM_UNAUTHORIZED", // an OAuth MCP server answered 401 (refreshed and retried once)
  "SECRET_ACCESS_DENIED",
  "SECRET_DECRYPT_FAILED",
  "IMAGE_INVALID",
  // agency (who the agent acts for)
  "TOOL_NOT_GRANTED", // the audience's grant denies the tool (checker)
  "TOOL_NOT_OFFERED", // the model named a tool it was not offered for this audience
  "APPROVAL_REQUIRED", // queued for an owner's decision
  "APPROVAL_INVALID", // a re-run carried an approval for another call
  "APPROVAL_DECIDED",
  "APPROVAL_EXPIRED",
  "APPROVAL_QUEUE_FULL", // this conversation already has the maximum of calls waiting for an owner
  "PAIRING_INVALID",
  // channels
  "WEBHOOK_SIGNATURE_INVALID",
  "WEBHOOK_PAYLOAD_INVALID",
  "CHANNEL_USER_BLOCKED",
  // chat
  "MESSAGE_TOO_LONG",
  "PROVIDER_ERROR",
  "TOOL_NOT_ENABLED", // the agent config does not enable that skill / MCP server
  "ACTIVITY_NOT_PUBLISHABLE", // this activity kind has no public template
  "VOICE_NOT_CONFIGURED", // no ElevenLabs key or agent id
  "VOICE_SESSION_INACTIVE", // voice session ended or its granted time is over
  "VOICE_AGENT_UNCAPPED", // the ElevenLabs agent's max conversation duration is unset or longer than a grant
  // http
  "PAYLOAD_TOO_LARGE",
  "ORIGIN_NOT_ALLOWED",
  "METHOD_NOT_ALLOWED",
  "STARTING", // the embedded runtime is still loading (503 + Retry-After)
  "TOO_MANY_IDS", // an array-of-ids argument holds more than 50 ids (seed 001)
  "SOURCE_BLOCKED", // an owner blocked this visitor's source (hashed client IP) for a while
  "BAD_REQUEST",
  "INTERNAL",
  // secrets
  "SECRET_KEY_UNAVAILABLE", // encryption key missing or malformed on the server
  "SECRET_LIMIT_REACHED", // too many secrets on one skill/channel/MCP server
  // channel replies
  "VENDOR_ERROR", // a channel vendor API (Telegram, Slack, Discord, Twilio, Resend) refused or failed a call
  "CHANNEL_NOT_CONFIGURED", // a channel lacks the secret, setting or reply target a call needs
  "DELIVERY_UNCERTAIN", // a send was interrupted after its request left for a vendor that cannot dedupe: failed, not re-sent
  "DELIVERY_EXPIRED", // a queued reply passed its deadline or attempt budget (crashes included)
  "AGENT_TIMEOUT", // an agent run did not finish before its deadline or attempt budget
  // monitoring
  "ABUSE_ALERT", // repeated denials from one source within a window (security event only)
  // checker / skills
  "URL_INVALID", // egress: the URL does not parse
  "USERINFO_NOT_ALLOWED", // egress: the URL carries user:pass@
  "NAME_TAKEN", // a skill with this name already exists in the workspace
  "SKILL_ERROR", // the skill's own code failed or returned something unusable
  "SECRET_NOT_SET", // a secret the skill's config needs has no value
  "DUPLICATE_DELIVERY", // webhook delivery id already seen (admitted, not processed again)
  "CHANNEL_DISABLED", // log code for a disabled channel's webhook; callers see NOT_FOUND
  // mcp
  "MCP_SERVER_LIMIT_REACHED", // too many MCP servers registered in one workspace
  "MCP_TOKEN_LIMIT_REACHED", // too many MCP client tokens in one workspace
  "MCP_SESSION_LIMIT", // a client token already has the maximum of open /mcp sessions
  "MCP_SESSION_MISMATCH", // an /mcp session id presented with another client's token (security event; caller sees 404)
  "MCP_TOOL_OUT_OF_SCOPE", // an /mcp tool call outside the client token's tool scopes
  "OAUTH_REQUEST_INVALID", // an OAuth consent request that is unknown, already decided or expired
  "OAUTH_GRANT_INVALID", // a token request with a wrong PKCE verifier, redirect URI or client (security event; caller sees invalid_grant)
  "OAUTH_GRANT_REPLAYED", // a used authorization code or rotated refresh token came back: the grant was revoked (security event)
  // owners and memberships
  "MEMBERSHIP_INACTIVE", // the person's membership in this workspace was deactivated by a workspace owner
  "LAST_OWNER", // the change would leave the workspace without an active owner
  "ALREADY_MEMBER", // invite of someone who already has a membership here (change the role or reactivate instead)
  "PASSWORD_INCORRECT", // change-my-password: the current password does not match
  "CODE_INVALID", // a set-password code that is unknown, used or expired
  // sessions and Clerk organizations
  "SESSION_ENDED", // the sign-in session this token belongs to was ended (sign-out, revoked, membership deactivated, password changed)
  "ORG_NOT_ACTIVE", // linking needs a Clerk sign-in with the organization active
  "ORG_ADMIN_REQUIRED", // linking needs the caller to be an admin of the Clerk organization
  "ORG_ALREADY_LINKED", // that Clerk organization is linked to another workspace
  "ORG_NOT_LINKED", // just-in-time membership needs a linked organization
  // runner (machine) tokens
  "RUNNER_REQUEST_PENDING", // the runner's handshake waits for an owner's approval (poll again)
  "RUNNER_REQUEST_DENIED", // an owner denied the runner's handshake
  "RUNNER_REQUEST_INVALID", // a device or user code that is unknown, used, expired or already decided
  "RUNNER_TOKEN_INVALID", // a runner token that is unknown, expired, replaced by a refresh, or whose grant ended
  "CAPABILITY_REQUIRED", // the runner token's grant does not list the capability this call needs
  "CAPABILITY_NOT_ALLOWED", // a deployment-wide capability needs an owner the operator named (WARDEN_OPERATOR_OWNERS)
  "RUNNER_LIMIT_REACHED", // too many live runner grants in one workspace
  // review
  "TWO_PERSON_RULE", // the workspace's two-person rule: the person who made a change cannot approve it
] as const;

export type Code = (typeof CODES)[number];

/** Validator for a catalogue code (function arguments and results that carry one). */
export const codeValidator = v.union(...CODES.map((c) => v.literal(c)));

const HTTP_STATUS: Partial<Record<Code, number>> = {
  UNAUTHENTICATED: 401,
  SIGNIN_FAILED: 401,
  SESSION_INVALID: 401,
  SESSION_ENDED: 401,
  WEBHOOK_SIGNATURE_INVALID: 401,
  FORBIDDEN: 403,
  OWNER_INACTIVE: 403,
  MEMBERSHIP_INACTIVE: 403,
  ORG_ADMIN_REQUIRED: 403,
  ORG_ALREADY_LINKED: 409,
  RUNNER_TOKEN_INVALID: 401,
  CAPABILITY_REQUIRED: 403,
  CAPABILITY_NOT_ALLOWED: 403,
  TWO_PERSON_RULE: 403,
  ORIGIN_NOT_ALLOWED: 403,
  SECRET_ACCESS_DENIED: 403,
  CHANNEL_USER_BLOCKED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  STARTING: 503,
  SOURCE_BLOCKED: 403,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  LIMIT_UNAVAILABLE: 503,
  SECRET_KEY_UNAVAILABLE: 503,
  TIMEOUT: 504,
  UPSTREAM_ERROR: 502,
  INTERNAL: 500,
  VOICE_NOT_CONFIGURED: 503,
};

/** HTTP status for a code: explicit table, else 400 for validation-class codes. */
export function httpStatusFor(code: string): number {
  return HTTP_STATUS[code as Code] ?? (isCode(code) ? 400 : 500);
}

export function isCode(code: unknown): code is Code {
  return typeof code === "string" && (CODES as readonly string[]).includes(code);
}

/** A code that crossed a boundary typed as string (an executor, an upstream): itself if catalogued, else `fallback`. */
export function asCode(code: unknown, fallback: Code): Code {
  return isCode(code) ? code : fallback;
}
