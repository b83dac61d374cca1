import { describe, expect, test } from "vitest";
import { OFFLINE_PREFIX, offlineGenerate, parseToolCommand } from "./offlineModel";

const user = (content: string) => ({ system: "s", messages: [{ role: "user" as const, content }] });

describe("offline model", () => {
  test("deterministic echo reply that says it is not a language model", () => {
    const a = offlineGenerate(user("hello   there"));
    expect(a).toEqual({ type: "text", text: `${OFFLINE_PREFIX}: you said “hello there” (13 characters).` });
    expect(offlineGenerate(user("hello   there"))).toEqual(a);
    expect(OFFLINE_PREFIX).toContain("not a language model");
  });
  test("long messages are summarized, not echoed whole", () => {
    const r = offlineGenerate(user("x".repeat(1000)));
    expect(r.type === "text" && r.text.length < 300).toBe(true);
  });
  test("/skill name {json} → a skill tool call", () => {
    expect(offlineGenerate(user('/skill weather {"city":"Oslo"}'))).toEqual({
      type: "tool_calls",
      calls: [{ kind: "skill", name: "weather", input: { city: "Oslo" } }],
    });
    expect(parseToolCommand("/skill ping")).toEqual({ ok: true, call: { kind: "skill", name: "ping", input: {} } });
  });
  test("/mcp server/tool {json} → an MCP tool call", () => {
    expect(offlineGenerate(user('/mcp docs/search {"q":"x"}'))).toEqual({
      type: "tool_calls",
      calls: [{ kind: "mcp", server: "docs", tool: "search", input: { q: "x" } }],
    });
  });
  test("bad commands are explained, never executed", () => {
    for (const bad of ["/skill", "/skill w {nope", "/skill w [1]", "/mcp nosl {}", "/skill ../x {}", "/mcp a/ {}"]) {
      const r = offlineGenerate(user(bad));
      expect(r.type, bad).toBe("text");
    }
    expect(parseToolCommand("hello /skill x {}")).toBeNull();
  });
  test("after tool results it summarizes them (or their error code)", () => {
    const r = offlineGenerate({
      system: "s",
      messages: [
        { role: "user", content: "/skill a {}" },
        { role: "tool", toolName: "skill a", content: 'ok: {"t":1}' },
      ],
    });
    expect(r).toEqual({ type: "text", text: `${OFFLINE_PREFIX}: skill a → ok: {"t":1}` });
    const e = offlineGenerate({
      system: "s",
      messages: [{ role: "tool", toolName: "skill a", content: "error: SKILL_NOT_APPROVED" }],
    });
    // the visitor reads a sentence, never the code
    expect(e).toEqual({
      type: "text",
      text: `${OFFLINE_PREFIX}: skill a → not done. That tool isn't available right now.`,
    });
  });
});
