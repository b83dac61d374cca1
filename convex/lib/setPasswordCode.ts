/**
 * One-time set-password codes for invited people: 256 random bits, only the SHA-256 stored,
 * shown once to the inviter, usable once, expiring after SET_PASSWORD_CODE_TTL_MS.
 */
import { randomToken, sha256Hex } from "./tokens";

export const SET_PASSWORD_CODE_PREFIX = "wsp_";
export const SET_PASSWORD_CODE_TTL_MS = 24 * 60 * 60 * 1000;
const SHAPE = /^wsp_[A-Za-z0-9_-]{43}$/;

export function newSetPasswordCode(): string {
  return randomToken(SET_PASSWORD_CODE_PREFIX, 32);
}

/** Cheap shape check before any lookup. */
export function looksLikeSetPasswordCode(code: string): boolean {
  return SHAPE.test(code);
}

export function hashSetPasswordCode(code: string): Promise<string> {
  return sha256Hex(code);
}

export function setPasswordCodeUsable(row: { expiresAt: number; usedAt?: number } | null, now: number): boolean {
  return !!row && row.usedAt === undefined && row.expiresAt > now;
}
