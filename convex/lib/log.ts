/**
 * Function logs without secrets or PII: every string (keys and values, nested) goes through
 * redact (credential shapes) and redactPII (e-mail addresses, phone numbers) before output.
 * Pure; no Convex imports.
 */
import { redactValue, redactPII, type JsonValue } from "./redact";

export type LogFields = Record<string, unknown>;

function scrub(v: JsonValue): JsonValue {
  if (typeof v === "string") return redactPII(v);
  if (Array.isArray(v)) return v.map(scrub);
  if (v && typeof v === "object") {
    const out: { [k: string]: JsonValue } = {};
    for (const [k, x] of Object.entries(v)) out[redactPII(k)] = scrub(x);
    return out;
  }
  return v;
}

/** redact + redactPII on every string of a value (keys too); JSON-safe result. */
export function cleanValue(value: unknown): JsonValue {
  return scrub(redactValue(value));
}

/** The exact line that would be printed (exported for tests). */
export function formatLog(level: "info" | "warn" | "error", event: string, fields: LogFields = {}): string {
  const clean = cleanValue({ event, ...fields });
  return JSON.stringify({ level, ...(clean as object) });
}

export function logInfo(event: string, fields?: LogFields): void {
  console.log(formatLog("info", event, fields));
}
export function logWarn(event: string, fields?: LogFields): void {
  console.warn(formatLog("warn", event, fields));
}
export function logError(event: string, fields?: LogFields): void {
  console.error(formatLog("error", event, fields));
}
