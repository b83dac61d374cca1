/** Abuse-detection thresholds: N denials from one source within a window raise one alert. */
export const ABUSE_WINDOW_MS = 5 * 60_000;
export const ABUSE_THRESHOLD = 10;

/** Denial codes that count toward an abuse alert. */
export const ABUSE_CODES = new Set([
  "WEBHOOK_SIGNATURE_INVALID",
  "RATE_LIMITED",
  "PAYLOAD_TOO_LARGE",
  "SIGNIN_FAILED",
  "SKILL_NOT_APPROVED",
  "MCP_TOOL_NOT_APPROVED",
  "MCP_TOOL_CHANGED",
  "MCP_SERVER_NOT_APPROVED",
  "DOMAIN_NOT_ALLOWED",
  "PRIVATE_ADDRESS_BLOCKED",
  "SECRET_ACCESS_DENIED",
  "INPUT_INVALID",
  "SESSION_INVALID",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "ORIGIN_NOT_ALLOWED",
  "MCP_SESSION_MISMATCH",
  "MCP_TOOL_OUT_OF_SCOPE",
  "CHANNEL_USER_BLOCKED",
  "PASSWORD_INCORRECT",
  "CODE_INVALID",
]);

export function countsTowardAbuse(code: string): boolean {
  return ABUSE_CODES.has(code);
}
