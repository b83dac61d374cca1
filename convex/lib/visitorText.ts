/**
 * What a visitor (public /chat, a channel sender) reads for an error code: a plain sentence that
 * never names the code, an internal setting or a server detail. Owners get the code and its
 * explanation in SyncBoard (src/lib/errors.ts `explain`). Pure; no Convex imports. Every catalogue
 * code resolves to a sentence (tests/review/errors.test.ts), unknown ones to the generic one.
 */
import { codeGroupOf } from "./codeGroups";

const GENERIC = "Something went wrong on our side. Please try again in a moment.";

const BY_CODE: Record<string, string> = {
  SESSION_INVALID: "This chat session has ended. A new one will start.",
  SESSION_ENDED: "This chat session has ended. A new one will start.",
  RATE_LIMITED: "Too many messages at once. Wait a moment and try again.",
  LIMIT_UNAVAILABLE: "The assistant is busy right now. Please try again in a moment.",
  MESSAGE_TOO_LONG: "That message is too long. Please shorten it and try again.",
  PAYLOAD_TOO_LARGE: "That message is too long. Please shorten it and try again.",
  IMAGE_INVALID: "That file isn't a supported image.",
  INPUT_INVALID: "The assistant asked a tool with details it couldn't use, so that step was skipped.",
  ARGS_INVALID: "Something in that request wasn't valid. Please try again.",
  TIMEOUT: "A tool took too long to answer, so the assistant stopped waiting.",
  OUTPUT_TOO_LARGE: "A tool returned more than the assistant can use.",
  UPSTREAM_ERROR: "A service the assistant relies on didn't answer properly. Please try again later.",
  SKILL_ERROR: "A tool the assistant tried failed. Please try again later.",
  PROVIDER_ERROR: "The assistant can't answer right now. Please try again in a moment.",
  AGENT_TIMEOUT: "The assistant did not answer in time. Please try again.",
  TOOL_NOT_GRANTED: "The assistant isn't allowed to use that tool in this conversation.",
  TOOL_NOT_OFFERED: "That tool isn't available in this conversation.",
  TOOL_NOT_ENABLED: "That tool isn't available in this conversation.",
  APPROVAL_REQUIRED: "That needs the owner's approval first; the answer comes once they decide.",
  APPROVAL_EXPIRED: "That request expired before the owner decided it.",
  APPROVAL_DECIDED: "The owner already decided that request.",
  APPROVAL_INVALID: "That request no longer matches what the owner approved.",
  APPROVAL_QUEUE_FULL: "Several requests are already waiting for the owner. Try again once they have decided.",
  PAIRING_INVALID: "That pairing code is not valid. Ask the owner for a new one.",
  CHANNEL_USER_BLOCKED: "The assistant isn't available to you here.",
  SOURCE_BLOCKED: "Chat is not available from your network right now.",
  FORBIDDEN: "That isn't available to you.",
  UNAUTHENTICATED: "That isn't available to you.",
  NOT_FOUND: "That isn't available (or no longer exists).",
  STARTING: "The assistant is starting up. Try again in a moment.",
  NETWORK: "Can't reach the assistant. Check your connection; we'll keep retrying.",
  VOICE_NOT_CONFIGURED: "Voice isn't available here.",
  VOICE_AGENT_UNCAPPED: "Voice isn't available here.",
  VOICE_SESSION_INACTIVE: "This voice session has ended.",
  DELIVERY_EXPIRED: "The reply could not be delivered in time.",
  DELIVERY_UNCERTAIN: "The reply may not have arrived. Please ask again if you didn't get it.",
  TOO_MANY_IDS: "That request was too large. Please try again with less.",
  ORIGIN_NOT_ALLOWED: "Chat isn't available on this page.",
};

/** By code group, for codes without their own sentence. */
const BY_GROUP: Record<string, string> = {
  approval: "That tool isn't available right now.",
  agency: "The assistant isn't allowed to do that here.",
  egress: "A tool tried to reach a website it isn't allowed to, so it was stopped.",
  limits: "Too many requests right now. Wait a moment and try again.",
  input: "That request couldn't be handled. Please try again with different wording.",
  webhook: "That message couldn't be read. Please send it again.",
  secrets: "A tool the assistant needs isn't set up yet.",
  mcp: "That tool isn't available in this conversation.",
  access: "That isn't available to you.",
};

export function visitorSentence(code: string): string {
  return BY_CODE[code] ?? BY_GROUP[codeGroupOf(code)] ?? GENERIC;
}
