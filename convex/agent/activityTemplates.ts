/**
 * The fixed summaries of activity entries. A summary is built only from these templates (never
 * from message text or channel-user data), so anything that is made public is PII-free by
 * construction. Pure; no Convex imports.
 */
import { redactPII } from "../lib/redact";
import { ADAPTERS, PLATFORMS, type Platform } from "../channels/platforms/index";

export const CHANNEL_LABELS = {
  web: "in web chat",
  voice: "by voice",
  ...(Object.fromEntries(PLATFORMS.map((p) => [p, ADAPTERS[p].via])) as Record<Platform, string>),
} as const;
export type ActivityChannel = keyof typeof CHANNEL_LABELS;

type Template = { text: string; withChannel?: boolean; publishable: boolean };

/** Catalogue facts a private summary may carry after the template text (never free text). */
export type ActivityFacts = { code?: string; status?: number; retrying?: boolean };

export const ACTIVITY_TEMPLATES = {
  "agent.reply": { text: "Answered a question", withChannel: true, publishable: true },
  "agent.reply_failed": { text: "Could not answer a question", withChannel: true, publishable: false },
  "agent.tool_call": { text: "Used a tool", withChannel: true, publishable: true },
  "agent.model_switch": { text: "Model configuration changed", publishable: false },
  "agent.fallback": { text: "Fallback model activated", publishable: false },
  "agent.provider_error": { text: "Model provider error", publishable: false },
  "chat.session_blocked": { text: "A chat session was blocked", publishable: false },
  "voice.session_started": { text: "Started a voice conversation", publishable: true },
  "voice.session_ended": { text: "Ended a voice conversation", publishable: true },
  "voice.denied": { text: "Voice time limit reached", publishable: false },
  "voice.error": { text: "Voice service error", publishable: false },
  "webhook.rejected": { text: "Rejected a webhook", withChannel: true, publishable: false },
  "channel.vendor_error": { text: "A call to the channel's vendor failed", withChannel: true, publishable: false },
  "mcp.client_connected": { text: "An MCP client opened a session", publishable: false },
  "mcp.client_disconnected": { text: "An MCP client ended its session", publishable: false },
  "mcp.session_evicted": {
    text: "An MCP client's least recently used session was ended for a new one",
    publishable: false,
  },
  "mcp.server_auto_disabled": { text: "An MCP server was disabled after failed health checks", publishable: false },
} as const satisfies Record<string, Template>;
export type ActivityKind = keyof typeof ACTIVITY_TEMPLATES;

export function isActivityKind(kind: string): kind is ActivityKind {
  return Object.prototype.hasOwnProperty.call(ACTIVITY_TEMPLATES, kind);
}
export function isActivityChannel(c: unknown): c is ActivityChannel {
  return typeof c === "string" && Object.prototype.hasOwnProperty.call(CHANNEL_LABELS, c);
}

const CODE_SHAPE = /^[A-Z][A-Z0-9_]{1,47}$/;

/**
 * The summary for a kind (+ channel): template text only, then redactPII as a second guard.
 * Facts are appended only in their fixed shapes: ": CODE", " (HTTP 503)", ", retrying".
 */
export function activitySummary(kind: string, channel?: string, facts: ActivityFacts = {}): string {
  if (!isActivityKind(kind)) return "Activity";
  const t: Template = ACTIVITY_TEMPLATES[kind];
  const where = t.withChannel && isActivityChannel(channel) ? ` ${CHANNEL_LABELS[channel]}` : "";
  const code = facts.code !== undefined && CODE_SHAPE.test(facts.code) ? `: ${facts.code}` : "";
  const status =
    Number.isInteger(facts.status) && facts.status! >= 100 && facts.status! <= 599 ? ` (HTTP ${facts.status})` : "";
  const retrying = facts.retrying ? ", retrying" : "";
  return redactPII(`${t.text}${where}${code}${status}${retrying}`);
}

export function isPublishable(kind: string): boolean {
  return isActivityKind(kind) && ACTIVITY_TEMPLATES[kind].publishable;
}
