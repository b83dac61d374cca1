import { describe, expect, test } from "vitest";
import { buildPrompt, toolResultText, MAX_HISTORY_MESSAGES, MAX_TOOL_RESULT_BYTES } from "../../convex/agent/prompt";
import { looksLikeKey, validateBaseUrl, validateEnvVarName } from "../../convex/agent/providerRules";
import { activitySummary, ACTIVITY_TEMPLATES, CHANNEL_LABELS } from "../../convex/agent/activityTemplates";

describe("prompt builder", () => {
  test("soul + recent history + tool results; nothing else", () => {
    const p = buildPrompt({
      soul: "Be kind.",
      history: [
        { role: "user", text: "q1" },
        { role: "assistant", text: "a1" },
        { role: "user", text: "q2" },
      ],
      toolOutcomes: [{ call: { kind: "skill", name: "s", input: {} }, ok: false, code: "SKILL_NOT_APPROVED" }],
    });
    expect(p.system.startsWith("Be kind.")).toBe(true);
    expect(p.messages).toEqual([
      { role: "user", content: "q1" },
      { role: "assistant", content: "a1" },
      { role: "user", content: "q2" },
      { role: "tool", toolName: "skill s", content: "error: SKILL_NOT_APPROVED" },
    ]);
  });
  test("history is bounded to the newest messages", () => {
    const history = Array.from({ length: 50 }, (_, i) => ({ role: "user" as const, text: `m${i}` }));
    const p = buildPrompt({ soul: "s", history });
    expect(p.messages).toHaveLength(MAX_HISTORY_MESSAGES);
    expect(p.messages.at(-1)).toEqual({ role: "user", content: "m49" });
  });
  test("tool outputs: credential shapes masked, size capped; errors pass only the code", () => {
    const text = toolResultText({
      call: { kind: "skill", name: "s", input: {} },
      ok: true,
      output: {
        auth: "Bearer abcdefghijklmnopqrstuvwxyz",
        key: "sk-abcdefghijklmnopqrstuvwxyz",
        big: "x".repeat(10_000),
      },
    });
    expect(text).not.toMatch(/abcdefghijklmnopqrstuvwxyz/);
    expect(new TextEncoder().encode(text).length).toBeLessThan(MAX_TOOL_RESULT_BYTES + 100);
  });
});

describe("provider rules", () => {
  test("env var names vs keys", () => {
    expect(validateEnvVarName("openai", "OPENAI_API_KEY").ok).toBe(true);
    expect(validateEnvVarName("openrouter", "OPENROUTER_API_KEY").ok).toBe(true);
    expect(validateEnvVarName("openrouter", "ANTHROPIC_API_KEY").ok).toBe(false);
    expect(validateEnvVarName("offline", undefined).ok).toBe(true);
    expect(validateEnvVarName("offline", "X_KEY").ok).toBe(false);
    for (const k of [
      "sk-abc",
      "sk-or-v1-abcdef0123456789",
      "AKIAIOSFODNN7EXAMPLE",
      "ghp_abcdefghijklmnopqrstuvwxyz0123",
    ])
      expect(looksLikeKey(k), k).toBe(true);
    for (const n of ["OPENAI_API_KEY", "MY_LLM_KEY_2"]) expect(looksLikeKey(n), n).toBe(false);
  });
  test("base URLs", () => {
    expect(validateBaseUrl("openai", "https://api.openai.com/v1", {}).ok).toBe(true);
    expect(validateBaseUrl("openai", "http://localhost:8080", {}).ok).toBe(false);
    expect(validateBaseUrl("openai", "http://localhost:8080", { WARDEN_DEV: "1" }).ok).toBe(true);
    expect(validateBaseUrl("openai", "https://[::ffff:10.0.0.1]/v1", {}).ok).toBe(false);
    expect(validateBaseUrl("openai", "https://169.254.169.254/", {}).ok).toBe(false);
  });
});

describe("activity templates", () => {
  test("summaries come only from templates and contain no PII shapes", () => {
    for (const kind of Object.keys(ACTIVITY_TEMPLATES)) {
      for (const ch of [...Object.keys(CHANNEL_LABELS), undefined, "ada@example.com"]) {
        const s = activitySummary(kind, ch);
        expect(s).not.toMatch(/@|\d{3}/);
        expect(s.startsWith(ACTIVITY_TEMPLATES[kind as keyof typeof ACTIVITY_TEMPLATES].text)).toBe(true);
      }
    }
    expect(activitySummary("agent.reply", "telegram")).toBe("Answered a question on Telegram");
  });
});
