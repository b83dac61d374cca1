/**
 * Validation of model-provider rows: the database stores an env var NAME, never a key, and a
 * base URL that is https (loopback, http included, only when WARDEN_DEV=1). Pure; no Convex imports.
 */
import { redact } from "../lib/redact";

export type ProviderKind = "offline" | "openai" | "openai-compatible" | "anthropic" | "openrouter";

export const ENV_VAR_NAME = /^[A-Z][A-Z0-9_]{2,63}$/;

/**
 * Model keys are operator-level: a provider row may name only a variable the operator declared for
 * model keys — the vendor defaults below or `WARDEN_MODEL_KEY_<NAME>` — never any other variable
 * of the deployment (encryption key, signing key, vendor secrets). Each key is sent only to the
 * hosts the operator bound it to: `<VARIABLE>_HOSTS` (comma-separated `host` or `host:port`), or
 * the vendor's own host for the vendor defaults.
 */
export const DEFAULT_KEY_ENV: Record<ProviderKind, string | undefined> = {
  offline: undefined,
  openai: "OPENAI_API_KEY",
  "openai-compatible": "OPENAI_COMPATIBLE_API_KEY",
  anthropic: "ANTHROPIC_API_KEY",
  openrouter: "OPENROUTER_API_KEY",
};
export const MODEL_KEY_PREFIX = "WARDEN_MODEL_KEY_";
const CUSTOM_MODEL_KEY = /^WARDEN_MODEL_KEY_[A-Z0-9]+(?:_[A-Z0-9]+)*$/;
const VENDOR_KEYS = new Set(Object.values(DEFAULT_KEY_ENV).filter((k): k is string => !!k));

/** The vendor's own API host: where its default key may go without an operator host list. */
export const VENDOR_HOSTS: Record<string, string[]> = {
  OPENAI_API_KEY: ["api.openai.com"],
  ANTHROPIC_API_KEY: ["api.anthropic.com"],
  OPENROUTER_API_KEY: ["openrouter.ai"],
};

/** The base URL each SDK uses when the row has none. */
export const DEFAULT_BASE_URL: Record<ProviderKind, string | undefined> = {
  offline: undefined,
  openai: "https://api.openai.com/v1",
  "openai-compatible": undefined,
  anthropic: "https://api.anthropic.com/v1",
  openrouter: "https://openrouter.ai/api/v1",
};

/** True only for variables the operator may declare as model keys. */
export function isModelKeyVariable(name: string): boolean {
  if (name.length > 64) return false;
  if (VENDOR_KEYS.has(name)) return true;
  return CUSTOM_MODEL_KEY.test(name) && !name.endsWith("_HOSTS");
}

/** Hosts (lower-case, optional `:port`) the operator allows the key in `name` to be sent to. */
export function keyHosts(name: string, env: Record<string, string | undefined>): string[] {
  if (!isModelKeyVariable(name)) return [];
  const declared = env[`${name}_HOSTS`];
  if (declared === undefined || declared.trim() === "") return VENDOR_HOSTS[name] ?? [];
  return declared
    .split(",")
    .map((h) => h.trim().toLowerCase())
    .filter((h) => /^[a-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$/.test(h));
}

export type ModelKeyProblem = "api_key_missing" | "key_not_allowed" | "host_not_allowed";
export type ModelKeyResult =
  { ok: true; key: string; baseUrl: string; host: string } | { ok: false; reason: ModelKeyProblem };

/**
 * The only way a provider's key is read: the variable must be a declared model key, set, and bound
 * to the host of the base URL the request goes to. Returns the key only on success.
 */
export function resolveModelKey(
  spec: { kind: ProviderKind; baseUrl?: string; apiKeyEnvVar?: string },
  env: Record<string, string | undefined>,
): ModelKeyResult {
  const name = spec.apiKeyEnvVar;
  if (!name || !isModelKeyVariable(name)) return { ok: false, reason: name ? "key_not_allowed" : "api_key_missing" };
  const baseUrl = spec.baseUrl ?? DEFAULT_BASE_URL[spec.kind];
  if (!baseUrl) return { ok: false, reason: "host_not_allowed" };
  let u: URL;
  try {
    u = new URL(baseUrl);
  } catch {
    return { ok: false, reason: "host_not_allowed" };
  }
  const host = u.hostname.toLowerCase();
  const hostPort = u.port ? `${host}:${u.port}` : host;
  if (!keyHosts(name, env).includes(hostPort)) return { ok: false, reason: "host_not_allowed" };
  const key = env[name];
  if (!key) return { ok: false, reason: "api_key_missing" };
  return { ok: true, key, baseUrl, host };
}

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
  if (!isModelKeyVariable(name)) return { ok: false, field: "apiKeyEnvVar" };
  if (kind === "openrouter" && DIRECT_KEYS.has(name)) return { ok: false, field: "apiKeyEnvVar" };
  if (kind !== "openrouter" && OPENROUTER_KEYS.has(name)) return { ok: false, field: "apiKeyEnvVar" };
  return { ok: true };
}

/** `localhost`, `*.localhost` (RFC 6761), 127.0.0.0/8 and ::1 literals. */
export function isLoopbackHostname(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost") || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

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
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  const loopback = isLoopbackHostname(host);
  if (u.protocol === "http:") {
    return loopback && env.WARDEN_DEV === "1" ? { ok: true } : { ok: false, field: "baseUrl" };
  }
  if (u.protocol !== "https:") return { ok: false, field: "baseUrl" };
  // loopback (names included) is a dev setup; other IP literals are refused like skill egress does
  if (loopback) return env.WARDEN_DEV === "1" ? { ok: true } : { ok: false, field: "baseUrl" };
  const literal = host.startsWith("[") ? host.slice(1, -1) : host;
  if (/^[0-9.]+$/.test(literal) || literal.includes(":")) return { ok: false, field: "baseUrl" };
  return { ok: true };
}

export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,99}$/;
export function validModelName(model: string): boolean {
  return MODEL_NAME.test(model) && !/^(sk|rk)[-_]/i.test(model) && redact(model) === model;
}
