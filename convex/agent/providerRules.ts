/**
 * Validation of model-provider rows: the database stores an env var NAME, never a key, and a
 * base URL that is https (http only for loopback when WARDEN_DEV=1). Pure; no Convex imports.
 */
import { isPublicAddress } from "../lib/egress";
import { redact } from "../lib/redact";

export type ProviderKind = "offline" | "openai" | "openai-compatible" | "anthropic" | "openrouter";

export const ENV_VAR_NAME = /^[A-Z][A-Z0-9_]{2,63}$/;

export const DEFAULT_KEY_ENV: Record<ProviderKind, string | undefined> = {
  offline: undefined,
  openai: "OPENAI_API_KEY",
  "openai-compatible": "OPENAI_COMPATIBLE_API_KEY",
  anthropic: "ANTHROPIC_API_KEY",
  openrouter: "OPENROUTER_API_KEY",
};

/** Key variables that belong to one provider family only (OpenRouter keeps its own). */
const DIRECT_KEYS = new Set(["OPENAI_API_KEY", "ANTHROPIC_API_KEY"]);
const OPENROUTER_KEYS = new Set(["OPENROUTER_API_KEY"]);

/** True when a string looks like a secret rather than a variable name. */
export function looksLikeKey(value: string): boolean {
  if (/^(sk|rk|pk)[-_]/i.test(value) || /^(sk-ant|sk-or|xai-|gsk_|AIza)/i.test(value)) return true;
  if (redact(value) !== value) return true; // a known token shape
  const digits = (value.match(/[0-9]/g) ?? []).length;
  if (digits >= 8) return true;
  return value.split("_").some((seg) => seg.length >= 16 && /[0-9]/.test(seg));
}

export type RuleResult = { ok: true } | { ok: false; field: string };

export function validateEnvVarName(kind: ProviderKind, name: string | undefined): RuleResult {
  if (kind === "offline") return name === undefined ? { ok: true } : { ok: false, field: "apiKeyEnvVar" };
  if (name === undefined) return { ok: false, field: "apiKeyEnvVar" };
  if (name.length > 64 || looksLikeKey(name) || !ENV_VAR_NAME.test(name)) return { ok: false, field: "apiKeyEnvVar" };
  if (kind === "openrouter" && DIRECT_KEYS.has(name)) return { ok: false, field: "apiKeyEnvVar" };
  if (kind !== "openrouter" && OPENROUTER_KEYS.has(name)) return { ok: false, field: "apiKeyEnvVar" };
  return { ok: true };
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function validateBaseUrl(
  kind: ProviderKind,
  baseUrl: string | undefined,
  env: Record<string, string | undefined>,
): RuleResult {
  if (baseUrl === undefined) return kind === "openai-compatible" ? { ok: false, field: "baseUrl" } : { ok: true };
  if (kind === "offline") return { ok: false, field: "baseUrl" };
  if (baseUrl.length > 500 || redact(baseUrl) !== baseUrl) return { ok: false, field: "baseUrl" };
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    return { ok: false, field: "baseUrl" };
  }
  if (u.username || u.password || u.search || u.hash) return { ok: false, field: "baseUrl" };
  const host = u.hostname.toLowerCase();
  const loopback = LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (u.protocol === "http:") {
    return loopback && env.WARDEN_DEV === "1" ? { ok: true } : { ok: false, field: "baseUrl" };
  }
  if (u.protocol !== "https:") return { ok: false, field: "baseUrl" };
  // https to a literal private/loopback address is a dev setup too
  const literal = host.startsWith("[") ? host.slice(1, -1) : host;
  if (/^[0-9.]+$/.test(literal) || literal.includes(":")) {
    let isPublic = false;
    try {
      isPublic = isPublicAddress(literal);
    } catch {
      isPublic = false;
    }
    if (!isPublic && !(loopback && env.WARDEN_DEV === "1")) return { ok: false, field: "baseUrl" };
  }
  return { ok: true };
}

export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$/;
export function validModelName(model: string): boolean {
  return MODEL_NAME.test(model) && !/^(sk|rk)[-_]/i.test(model) && redact(model) === model;
}
