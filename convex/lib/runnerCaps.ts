/**
 * Machine (runner) tokens: the capability catalogue and the handshake's codes. Pure; no Convex imports.
 * A capability is either about the token's workspace (membership tier) or about the whole deployment
 * (operator tier: only a person the operator named in WARDEN_OPERATOR_OWNERS may grant or use it).
 */
import { HOUR, MINUTE } from "./time";

export const RUNNER_CAPABILITIES = {
  guard: { tier: "operator", label: "Check the encryption-key guard (deployment)" },
  rotation: { tier: "operator", label: "Start and watch secret re-encryption (deployment)" },
  "owners.read": { tier: "workspace", label: "List this workspace's members and roles" },
  "skills.sync": { tier: "workspace", label: "Sync deployed code skills into this workspace (as pending)" },
} as const;

export type RunnerCapability = keyof typeof RUNNER_CAPABILITIES;
export const RUNNER_CAPABILITY_NAMES = Object.keys(RUNNER_CAPABILITIES) as RunnerCapability[];

export function isRunnerCapability(x: string): x is RunnerCapability {
  return Object.prototype.hasOwnProperty.call(RUNNER_CAPABILITIES, x);
}

/** The owner keys the operator allows to hold deployment-wide (operator-tier) capabilities. */
export function operatorOwners(env: Record<string, string | undefined>): Set<string> {
  return new Set(
    (env.WARDEN_OPERATOR_OWNERS ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

/** The capabilities a grant may use now: operator-tier ones only while its approver is still named by the operator. */
export function usableCapabilities(
  granted: string[],
  approverKey: string,
  env: Record<string, string | undefined>,
): RunnerCapability[] {
  const ops = operatorOwners(env);
  return granted
    .filter(isRunnerCapability)
    .filter((c) => RUNNER_CAPABILITIES[c].tier !== "operator" || ops.has(approverKey));
}

/** A device request lives this long; the runner polls at most every POLL_INTERVAL_S. */
export const DEVICE_REQUEST_TTL_MS = 10 * MINUTE;
export const POLL_INTERVAL_S = 5;
/** A runner token expires after this; the runner refreshes it (while the grant lives). */
export const RUNNER_TOKEN_TTL_MS = 4 * HOUR;
/** How long a grant lives (days), chosen by the approving owner. */
export const GRANT_DAYS_DEFAULT = 7;
export const GRANT_DAYS_MAX = 30;
export const MAX_GRANTS_PER_WORKSPACE = 50;
export const RUNNER_NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

export const DEVICE_CODE_PREFIX = "wdc_";
export const RUNNER_TOKEN_PREFIX = "wrt_";

/** User codes: 8 letters without vowels (no words), shown as XXXX-XXXX; 20^8 ≈ 2.6e10. */
const USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ";

export function newUserCode(): string {
  const out: string[] = [];
  const buf = new Uint8Array(1);
  while (out.length < 8) {
    crypto.getRandomValues(buf);
    if (buf[0] >= 240) continue; // 240 = 12 × 20: no modulo bias
    out.push(USER_CODE_ALPHABET[buf[0] % 20]);
  }
  return `${out.slice(0, 4).join("")}-${out.slice(4).join("")}`;
}

/** What an owner typed → the canonical code (case, spaces and dashes ignored), or null if it cannot be one. */
export function normalizeUserCode(input: string): string | null {
  const s = input.toUpperCase().replace(/[\s-]/g, "");
  if (s.length !== 8) return null;
  for (const ch of s) if (!USER_CODE_ALPHABET.includes(ch)) return null;
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}
