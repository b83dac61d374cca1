// @vitest-environment node
/** Error codes are typed: fail, the checker's denials and check results take catalogue codes only. */
import { describe, expect, test } from "vitest";
import { ConvexError } from "convex/values";
import { fail } from "../convex/access/principal";
import { asCode, CODES, isCode, type Code } from "../convex/lib/codes";
import type { CheckResult } from "../convex/security/checker";
import type { SecurityEventInput } from "../convex/security/events";
import type { InvocationLogEntry } from "../convex/security/checkerLog";

describe("typed codes", () => {
  test("a code outside the catalogue does not type-check (tsc runs on this file)", () => {
    // @ts-expect-error not a catalogue code
    expect(() => fail("FORBIDEN")).toThrow(ConvexError);
    // @ts-expect-error not a catalogue code
    const denied: CheckResult = { ok: false, code: "RATE_LIMITTED" };
    // @ts-expect-error not a catalogue code
    const event: Pick<SecurityEventInput, "code"> = { code: "SIGNIN_FAIL" };
    // @ts-expect-error the invocation log takes "OK" or a catalogue code
    const row: Pick<InvocationLogEntry, "code"> = { code: "ok" };
    expect([denied.ok, event.code, row.code]).toEqual([false, "SIGNIN_FAIL", "ok"]);
  });

  test("fail carries the code to the caller", () => {
    try {
      fail("NOT_FOUND");
    } catch (e) {
      expect((e as ConvexError<{ code: Code }>).data.code).toBe("NOT_FOUND");
    }
  });

  test("asCode keeps catalogue codes and maps anything else to the fallback", () => {
    for (const c of CODES) expect(asCode(c, "UPSTREAM_ERROR")).toBe(c);
    for (const x of ["", "ok", "FORBIDEN", "constructor", "__proto__", 42, null, undefined, { code: "FORBIDDEN" }]) {
      expect(isCode(x)).toBe(false);
      expect(asCode(x, "SKILL_ERROR")).toBe("SKILL_ERROR");
    }
  });
});
