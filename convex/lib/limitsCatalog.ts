import { MINUTE, HOUR } from "./time";

/** Named limits with the checklist's defaults. Workspaces override rate/period in rateLimitConfig. */
export const LIMIT_DEFAULTS = {
  chatPerSession: { rate: 10, periodMs: MINUTE, label: "Public chat messages per session" },
  chatGlobal: { rate: 200, periodMs: MINUTE, label: "Public chat messages, all sessions" },
  chatSessionsPerIp: { rate: 20, periodMs: MINUTE, label: "New chat sessions per IP" },
  chatSessionsGlobal: { rate: 300, periodMs: MINUTE, label: "New chat sessions, all callers" },
  chatThreadsPerSession: { rate: 20, periodMs: MINUTE, label: "New chat threads per session" },
  channelUser: { rate: 20, periodMs: MINUTE, label: "Channel messages per channel user" },
  skillPerSkill: { rate: 30, periodMs: MINUTE, label: "Invocations per skill" },
  webhookSkillsGlobal: { rate: 100, periodMs: MINUTE, label: "Webhook-skill invocations, all skills" },
  mcpPerServer: { rate: 50, periodMs: MINUTE, label: "MCP tool calls per external server" },
  mcpPerClient: { rate: 60, periodMs: MINUTE, label: "Calls per MCP client token" },
  mcpSessionsPerIp: { rate: 10, periodMs: MINUTE, label: "New MCP sessions per IP" },
  globalInvocations: { rate: 200, periodMs: MINUTE, label: "All invocations, all callers" },
  allUsersGlobal: { rate: 200, periodMs: MINUTE, label: "All users combined: web chat, channel and MCP requests" },
  voiceTranscriptsPerSession: { rate: 30, periodMs: MINUTE, label: "Voice transcripts posted per session" },
  voiceSecondsPerHour: { rate: 300, periodMs: HOUR, label: "Voice seconds per session per hour" },
  voiceSecondsPerSource: { rate: 900, periodMs: HOUR, label: "Voice seconds per source (client IP) per hour" },
  voiceSecondsPerWorkspace: { rate: 3600, periodMs: HOUR, label: "Voice seconds, all visitors combined, per hour" },
  signinPerAccount: { rate: 5, periodMs: 15 * MINUTE, label: "Failed sign-ins per account" },
  signinPerIp: { rate: 20, periodMs: 15 * MINUTE, label: "Failed sign-ins per IP" },
  webhookPerChannel: { rate: 600, periodMs: MINUTE, label: "Inbound webhooks per channel" },
  oauthRegisterPerIp: { rate: 10, periodMs: HOUR, label: "OAuth client registrations per IP (deployment-wide)" },
  oauthPerIp: {
    rate: 60,
    periodMs: MINUTE,
    label: "OAuth authorize, token and revoke requests per IP (deployment-wide)",
  },
  runnerStartPerIp: { rate: 10, periodMs: HOUR, label: "Runner handshakes started per IP (deployment-wide)" },
  runnerPollPerIp: { rate: 60, periodMs: MINUTE, label: "Runner token polls per IP (deployment-wide)" },
  runnerBadCodePerIp: { rate: 10, periodMs: HOUR, label: "Unknown runner device codes per IP (deployment-wide)" },
  runnerCodeEntryPerOwner: { rate: 10, periodMs: 15 * MINUTE, label: "Wrong runner codes entered per owner" },
  runnerCallsPerGrant: { rate: 60, periodMs: MINUTE, label: "Operator calls per runner token" },
} as const;

export type LimitName = keyof typeof LIMIT_DEFAULTS;
export const LIMIT_NAMES = Object.keys(LIMIT_DEFAULTS) as LimitName[];

export const MAX_RATE = 1_000_000;
export const MIN_PERIOD_MS = 1_000;
export const MAX_PERIOD_MS = 24 * HOUR;

export function isLimitName(name: string): name is LimitName {
  return Object.prototype.hasOwnProperty.call(LIMIT_DEFAULTS, name);
}

/** Validates an override: positive integers within sane maxima. */
export function validateLimitOverride(
  name: string,
  rate: number,
  periodMs: number,
): { ok: true } | { ok: false; code: "CONFIG_INVALID"; field: string } {
  if (!isLimitName(name)) return { ok: false, code: "CONFIG_INVALID", field: "name" };
  if (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE)
    return { ok: false, code: "CONFIG_INVALID", field: "rate" };
  if (!Number.isInteger(periodMs) || periodMs < MIN_PERIOD_MS || periodMs > MAX_PERIOD_MS) {
    return { ok: false, code: "CONFIG_INVALID", field: "periodMs" };
  }
  return { ok: true };
}
