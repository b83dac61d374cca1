/**
 * Vendor-neutral channel facts (pure; no Convex imports): settings validation, webhook URLs and
 * paths, and setup steps dispatched to the vendor adapters in ./platforms/ (the registry).
 */
import { ADAPTERS, PLATFORMS, SECRET_NAMES, SETTINGS_SCHEMAS, isPlatform, type Platform } from "./platforms/index";
import { isPublicAddress } from "../lib/egress";

export { PLATFORMS, SECRET_NAMES, SETTINGS_SCHEMAS, isPlatform, type Platform };
export { emailOf } from "./platforms/kit";

/** Validates settings for a platform; `field` names the first offending key. */
export function validateSettings(
  platform: Platform,
  settings: unknown,
): { ok: true; settings: Record<string, string> } | { ok: false; field: string } {
  const r = SETTINGS_SCHEMAS[platform].safeParse(settings ?? {});
  if (r.success) return { ok: true, settings: r.data as Record<string, string> };
  const issue = r.error.issues[0];
  const field =
    issue?.code === "unrecognized_keys" ? (issue.keys?.[0] ?? "settings") : String(issue?.path?.[0] ?? "settings");
  return { ok: false, field: field.slice(0, 40) };
}

/** The public base URL vendors call: WARDEN_PUBLIC_BASE_URL, else CONVEX_SITE_URL. Never a request header. */
export function publicBaseUrl(env: Record<string, string | undefined>): string | null {
  const raw = (env.WARDEN_PUBLIC_BASE_URL || env.CONVEX_SITE_URL || "").trim().replace(/\/+$/, "");
  if (!raw) return null;
  try {
    const u = new URL(raw);
    return u.protocol === "https:" || u.protocol === "http:" ? raw : null;
  } catch {
    return null;
  }
}

/**
 * Why vendors could not reach this base URL from the internet, or null when it looks reachable:
 * "loopback" (localhost, 127.0.0.0/8, ::1, *.localhost), "private" (RFC 1918, link-local, ULA and
 * other non-public addresses), "local-name" (a single-label or .local/.internal/.lan/.home.arpa
 * name), "not-https" (vendors such as Telegram and Slack only call https).
 */
export type PublicUrlProblem = "loopback" | "private" | "local-name" | "not-https";
export function publicUrlProblem(base: string | null): PublicUrlProblem | null {
  if (!base) return null;
  let u: URL;
  try {
    u = new URL(base);
  } catch {
    return null;
  }
  const host = u.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    /^127\./.test(host) ||
    host === "::1" ||
    host === "0.0.0.0"
  )
    return "loopback";
  const isIp = /^[0-9.]+$/.test(host) || host.includes(":");
  if (isIp && !isPublicAddress(host)) return "private";
  if (!isIp && (!host.includes(".") || /\.(local|internal|lan|home\.arpa|intranet|corp)$/.test(host)))
    return "local-name";
  if (u.protocol !== "https:") return "not-https";
  return null;
}

export function webhookPath(platform: Platform, channelId: string): string {
  return `/webhooks/${platform}/${channelId}`;
}

export function webhookUrl(
  env: Record<string, string | undefined>,
  platform: Platform,
  channelId: string,
): string | null {
  const base = publicBaseUrl(env);
  return base ? base + webhookPath(platform, channelId) : null;
}

const CHANNEL_ID = /^[A-Za-z0-9]{10,64}$/;

/** `/webhooks/{platform}/{channelId}` → parts; null for anything else (no trailing parts, no encoding tricks). */
export function parseWebhookPath(pathname: string): { platform: Platform; channelId: string } | null {
  const parts = pathname.split("/");
  if (parts.length !== 4 || parts[0] !== "" || parts[1] !== "webhooks") return null;
  const [, , platform, channelId] = parts;
  if (!isPlatform(platform) || !CHANNEL_ID.test(channelId)) return null;
  return { platform, channelId };
}

/** Step-by-step setup text for SyncBoard; `url` is the channel's webhook URL. */
export function setupSteps(platform: Platform, url: string): string[] {
  return ADAPTERS[platform].setupSteps(url);
}
