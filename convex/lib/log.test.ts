import { afterEach, describe, expect, test, vi } from "vitest";
import { formatLog, logError, logInfo, logWarn } from "./log";

afterEach(() => vi.restoreAllMocks());

describe("logger wrapper", () => {
  test("masks emails, phone numbers and credentials in every string, nested and in keys", () => {
    const line = formatLog("info", "x", {
      who: "ada@example.com",
      nested: { phone: "+44 20 7946 0958", list: ["call +1 415 555 0100"] },
      "bob@example.org": 1,
      apiKey: "sk-abcdefghijklmnopqrstuvwx",
      header: "Bearer abcdefghijklmnop",
    });
    expect(line).not.toMatch(/ada@example\.com|7946|555 0100|bob@example\.org|sk-abcdef|abcdefghijklmnop/);
    expect(JSON.parse(line)).toMatchObject({ level: "info", event: "x" });
  });
  test("logInfo/logWarn/logError print only the cleaned line", () => {
    const out: string[] = [];
    for (const m of ["log", "warn", "error"] as const)
      vi.spyOn(console, m).mockImplementation((s: string) => void out.push(s));
    logInfo("a", { e: "x@y.io" });
    logWarn("b", { e: "+15551234567" });
    logError("c", { e: "token=supersecretvalue123" });
    expect(out).toHaveLength(3);
    expect(out.join("\n")).not.toMatch(/x@y\.io|15551234567|supersecretvalue123/);
  });
});
