import { describe, expect, test } from "vitest";
import {
  newSetPasswordCode,
  looksLikeSetPasswordCode,
  hashSetPasswordCode,
  setPasswordCodeUsable,
  SET_PASSWORD_CODE_TTL_MS,
} from "./setPasswordCode";
import { passwordLengthOk, MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH } from "./password";

describe("set-password codes", () => {
  test("random, well-shaped, hashed (not stored as is)", async () => {
    const a = newSetPasswordCode();
    const b = newSetPasswordCode();
    expect(a).not.toBe(b);
    expect(looksLikeSetPasswordCode(a)).toBe(true);
    expect(looksLikeSetPasswordCode(a + "x")).toBe(false);
    expect(looksLikeSetPasswordCode("wsp_short")).toBe(false);
    const h = await hashSetPasswordCode(a);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(h).not.toContain(a.slice(4));
  });

  test("usable once, before expiry", () => {
    const now = 1_000_000;
    expect(SET_PASSWORD_CODE_TTL_MS).toBeLessThanOrEqual(24 * 60 * 60 * 1000);
    expect(setPasswordCodeUsable({ expiresAt: now + 1 }, now)).toBe(true);
    expect(setPasswordCodeUsable({ expiresAt: now }, now)).toBe(false);
    expect(setPasswordCodeUsable({ expiresAt: now + 1, usedAt: now - 5 }, now)).toBe(false);
    expect(setPasswordCodeUsable(null, now)).toBe(false);
  });

  test("password length policy", () => {
    expect(passwordLengthOk("x".repeat(MIN_PASSWORD_LENGTH - 1))).toBe(false);
    expect(passwordLengthOk("x".repeat(MIN_PASSWORD_LENGTH))).toBe(true);
    expect(passwordLengthOk("x".repeat(MAX_PASSWORD_LENGTH + 1))).toBe(false);
  });
});
