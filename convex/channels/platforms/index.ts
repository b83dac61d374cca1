/**
 * THE registry of channel platforms (pure; no Convex imports, so schema files and SyncBoard can
 * import it). One vendor = one adapter file in this folder plus its line here; the platform list,
 * the table validator (channels/tables.ts), the webhook route's platforms, secret names, limit
 * signals, reply limits and SyncBoard's platform list are all derived from `ADAPTERS`.
 */
import type { PlatformAdapter, SettingsField } from "./types";
import { telegram } from "./telegram";
import { twilio } from "./twilio";
import { slack } from "./slack";
import { discord } from "./discord";
import { resend } from "./resend";

export type { PlatformAdapter } from "./types";

export const ADAPTERS = { telegram, twilio, slack, discord, resend } satisfies Record<string, PlatformAdapter>;

export type Platform = keyof typeof ADAPTERS;

export const PLATFORMS: readonly Platform[] = Object.freeze(Object.keys(ADAPTERS) as Platform[]);

export function isPlatform(p: string): p is Platform {
  return (PLATFORMS as readonly string[]).includes(p);
}

export function adapterOf(platform: Platform): PlatformAdapter {
  return ADAPTERS[platform];
}

function derive<T>(pick: (a: PlatformAdapter) => T): Record<Platform, T> {
  const out = {} as Record<Platform, T>;
  for (const p of PLATFORMS) out[p] = pick(ADAPTERS[p]);
  return Object.freeze(out);
}

/** Secret names per platform: `verify` checks inbound webhooks, `send` authorizes replies. */
export const SECRET_NAMES = derive((a) => a.secrets);

/** How each platform learns that a user is over a limit (see each adapter's `limitSignal`). */
export const LIMIT_SIGNAL = derive((a) => a.limitSignal);

/** Longest reply each platform accepts in one message (characters). */
export const MAX_REPLY_CHARS = derive((a) => a.reply.maxChars);

export const VENDOR_BASE_ENV = derive((a) => a.vendorBase);

/** Strict settings schemas: unknown keys (e.g. a token pasted into settings) are refused. */
export const SETTINGS_SCHEMAS = derive((a) => a.settingsSchema);

/**
 * Vendors whose send API dedupes on a key we choose. Only these are re-sent when a crash leaves
 * it unknown whether the vendor got the reply.
 */
export const IDEMPOTENT_SEND: ReadonlySet<Platform> = new Set(PLATFORMS.filter((p) => ADAPTERS[p].idempotentSend));

/** What SyncBoard lists: the platforms in registry order with their names and settings forms. */
export type PlatformEntry = { platform: Platform; label: string; settingsFields: readonly SettingsField[] };
export const PLATFORM_CATALOG: readonly PlatformEntry[] = Object.freeze(
  PLATFORMS.map((platform) => ({
    platform,
    label: ADAPTERS[platform].label,
    settingsFields: ADAPTERS[platform].settingsFields,
  })),
);
