/**
 * Groups of catalogue codes for the log filters ("code group") and their human names. A code not
 * listed falls into "other". Pure; no Convex imports.
 */
export const CODE_GROUPS = {
  ok: { label: "Allowed", codes: ["OK"] },
  access: {
    label: "Sign-in and access",
    codes: [
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "OWNER_INACTIVE",
      "SIGNIN_FAILED",
      "SESSION_INVALID",
      "SESSION_ENDED",
      "PASSWORD_INCORRECT",
      "CODE_INVALID",
      "ORIGIN_NOT_ALLOWED",
      "SOURCE_BLOCKED",
      "CHANNEL_USER_BLOCKED",
    ],
  },
  approval: {
    label: "Approval and config",
    codes: [
      "SKILL_NOT_APPROVED",
      "SKILL_INACTIVE",
      "MCP_SERVER_NOT_APPROVED",
      "MCP_SERVER_DISABLED",
      "MCP_TOOL_NOT_APPROVED",
      "MCP_TOOL_CHANGED",
      "CONFIG_INVALID",
      "TOOL_NOT_ENABLED",
      "TWO_PERSON_RULE",
    ],
  },
  agency: {
    label: "Agency (who the agent acts for)",
    codes: [
      "TOOL_NOT_GRANTED",
      "TOOL_NOT_OFFERED",
      "APPROVAL_REQUIRED",
      "APPROVAL_INVALID",
      "APPROVAL_DECIDED",
      "APPROVAL_EXPIRED",
      "APPROVAL_QUEUE_FULL",
      "PAIRING_INVALID",
    ],
  },
  egress: {
    label: "Network egress",
    codes: [
      "DOMAIN_NOT_ALLOWED",
      "DOMAIN_INVALID",
      "PRIVATE_ADDRESS_BLOCKED",
      "REDIRECT_BLOCKED",
      "SCHEME_NOT_ALLOWED",
      "PORT_NOT_ALLOWED",
      "URL_TEMPLATE_INVALID",
      "URL_INVALID",
      "USERINFO_NOT_ALLOWED",
    ],
  },
  limits: {
    label: "Rate limits and budgets",
    codes: ["RATE_LIMITED", "LIMIT_UNAVAILABLE", "PAYLOAD_TOO_LARGE", "ABUSE_ALERT"],
  },
  input: {
    label: "Input and output",
    codes: [
      "INPUT_INVALID",
      "ARGS_INVALID",
      "OUTPUT_TOO_LARGE",
      "MESSAGE_TOO_LONG",
      "IMAGE_INVALID",
      "TIMEOUT",
      "UPSTREAM_ERROR",
      "PROVIDER_ERROR",
    ],
  },
  webhook: { label: "Webhooks", codes: ["WEBHOOK_SIGNATURE_INVALID", "WEBHOOK_PAYLOAD_INVALID"] },
  secrets: { label: "Secrets", codes: ["SECRET_ACCESS_DENIED", "SECRET_DECRYPT_FAILED"] },
  mcp: {
    label: "MCP sessions",
    codes: [
      "MCP_SESSION_MISMATCH",
      "MCP_TOOL_OUT_OF_SCOPE",
      "MCP_OAUTH_REQUIRED",
      "MCP_OAUTH_REVOKED",
      "MCP_OAUTH_STATE_INVALID",
      "MCP_OAUTH_DISCOVERY_FAILED",
      "MCP_OAUTH_CLIENT_REQUIRED",
      "MCP_OAUTH_EXCHANGE_FAILED",
      "MCP_OAUTH_DENIED",
      "UPSTREAM_UNAUTHORIZED",
    ],
  },
} as const;

export type CodeGroup = keyof typeof CODE_GROUPS | "other";
export const CODE_GROUP_NAMES = [...Object.keys(CODE_GROUPS), "other"] as CodeGroup[];

const BY_CODE = new Map<string, CodeGroup>();
for (const [g, def] of Object.entries(CODE_GROUPS)) for (const c of def.codes) BY_CODE.set(c, g as CodeGroup);

export function codeGroupOf(code: string): CodeGroup {
  return BY_CODE.get(code) ?? "other";
}

export function codeGroupLabel(g: string): string {
  return g === "other" ? "Other" : ((CODE_GROUPS as Record<string, { label: string }>)[g]?.label ?? g);
}

export function isCodeGroup(g: string): g is CodeGroup {
  return g === "other" || Object.prototype.hasOwnProperty.call(CODE_GROUPS, g);
}
