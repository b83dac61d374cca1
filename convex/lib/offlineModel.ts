/**
 * The offline provider. It is NOT a language model: it needs no key and no network, answers
 * deterministically, and requests tool calls only through explicit commands typed by the user:
 *
 *   /skill <name> <json object>          → a skill call (through the security checker)
 *   /mcp <server>/<tool> <json object>   → an MCP tool call (through the security checker)
 *
 * After a tool call it summarizes the tool result, or for a refusal the visitor's sentence for its
 * code (lib/visitorText) — what the visitor reads never shows `error: CODE`. Pure; no Convex imports.
 */
import { visitorSentence } from "./visitorText";

export const OFFLINE_PREFIX = "Offline model (not a language model)";

export type ToolCall =
  | { kind: "skill"; name: string; input: Record<string, unknown> }
  | { kind: "mcp"; server: string; tool: string; input: Record<string, unknown> };

export type PromptMessage =
  { role: "user" | "assistant"; content: string } | { role: "tool"; toolName: string; content: string };

export type Prompt = { system: string; messages: PromptMessage[] };

export type ModelStep = { type: "text"; text: string } | { type: "tool_calls"; calls: ToolCall[] };

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const MAX_SUMMARY = 160;

export type ParsedCommand = { ok: true; call: ToolCall } | { ok: false; reason: string } | null;

/** Parses `/skill …` or `/mcp …`; null when the text is not a command. */
export function parseToolCommand(text: string): ParsedCommand {
  const m = /^\/(skill|mcp)(?:\s+(\S+))?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m) return null;
  const [, verb, target, rest] = m;
  if (!target) return { ok: false, reason: `usage: /${verb} <${verb === "skill" ? "name" : "server/tool"}> <json>` };
  let input: unknown = {};
  const raw = (rest ?? "").trim();
  if (raw !== "") {
    try {
      input = JSON.parse(raw);
    } catch {
      return { ok: false, reason: "the input is not valid JSON" };
    }
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return { ok: false, reason: "the input must be a JSON object" };
  }
  const obj = input as Record<string, unknown>;
  if (verb === "skill") {
    if (!NAME.test(target)) return { ok: false, reason: "invalid skill name" };
    return { ok: true, call: { kind: "skill", name: target, input: obj } };
  }
  const slash = target.indexOf("/");
  const server = slash > 0 ? target.slice(0, slash) : "";
  const tool = slash > 0 ? target.slice(slash + 1) : "";
  if (!NAME.test(server) || !NAME.test(tool)) return { ok: false, reason: "expected <server>/<tool>" };
  return { ok: true, call: { kind: "mcp", server, tool, input: obj } };
}

export function toolLabel(call: ToolCall): string {
  return call.kind === "skill" ? `skill ${call.name}` : `mcp ${call.server}/${call.tool}`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  const chars = Array.from(flat);
  return chars.length <= max ? flat : `${chars.slice(0, max).join("")}…`;
}

/** One deterministic step: a reply, or the tool calls the last user message asked for. */
export function offlineGenerate(prompt: Prompt): ModelStep {
  const msgs = prompt.messages;
  const last = msgs[msgs.length - 1];
  if (!last) return { type: "text", text: `${OFFLINE_PREFIX}: there is nothing to answer yet.` };

  if (last.role === "tool") {
    const results: string[] = [];
    for (let i = msgs.length - 1; i >= 0; i--) {
      const m = msgs[i];
      if (m.role !== "tool") break;
      const refused = /^error: ([A-Z][A-Z0-9_]{1,63})$/.exec(m.content.trim());
      results.unshift(
        `${m.toolName} → ${refused ? `not done. ${visitorSentence(refused[1])}` : oneLine(m.content, 400)}`,
      );
    }
    return { type: "text", text: `${OFFLINE_PREFIX}: ${results.join("; ")}` };
  }

  if (last.role === "user") {
    const parsed = parseToolCommand(last.content);
    if (parsed?.ok) return { type: "tool_calls", calls: [parsed.call] };
    if (parsed && !parsed.ok)
      return { type: "text", text: `${OFFLINE_PREFIX}: I could not run that command (${parsed.reason}).` };
    const chars = Array.from(last.content).length;
    return {
      type: "text",
      text: `${OFFLINE_PREFIX}: you said “${oneLine(last.content, MAX_SUMMARY)}” (${chars} characters).`,
    };
  }
  return { type: "text", text: `${OFFLINE_PREFIX}: waiting for a message.` };
}
