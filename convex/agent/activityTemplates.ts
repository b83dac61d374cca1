/**
 * The fixed summaries of activity entries. A summary is built only from these templates (never
 * from message text or channel-user data), so anything that is made public is PII-free by
 * construction. Pure; no Convex imports.
 */
import { redactPII } from "../lib/redact";

export const CHANNEL_LABELS = {
  web: "in web chat",
  voice: "by voice",
  telegram: "on Telegram",
  slack: "on Slack",
  discord: "on Discord",
  twilio: "by SMS/WhatsApp",
  resend: "by email",
} as const;
export type ActivityChannel = keyof typeof CHANNEL_LABELS;

type Template = { text: string; withChannel?: boolean; publishable: boolean };

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
} as const satisfies Record<string, Template>;
export type ActivityKind = keyof typeof ACTIVITY_TEMPLATES;

export function isActivityKind(kind: string): kind is ActivityKind {
  return Object.prototype.hasOwnProperty.call(ACTIVITY_TEMPLATES, kind);
}
export function isActivityChannel(c: unknown): c is ActivityChannel {
  return typeof c === "string" && Object.prototype.hasOwnProperty.call(CHANNEL_LABELS, c);
}

/** The summary for a kind (+ channel): template text only, then redactPII as a second guard. */
export function activitySummary(kind: string, channel?: string): string {
  if (!isActivityKind(kind)) return "Activity";
  const t: Template = ACTIVITY_TEMPLATES[kind];
  const where = t.withChannel && isActivityChannel(channel) ? ` ${CHANNEL_LABELS[channel]}` : "";
  return redactPII(`${t.text}${where}`);
}

export function isPublishable(kind: string): boolean {
  return isActivityKind(kind) && ACTIVITY_TEMPLATES[kind].publishable;
}
