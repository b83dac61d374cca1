/**
 * JSON-schema checks for skill and MCP tool inputs, on @cfworker/json-schema (no eval, so it
 * runs in Convex's default runtime). Pure; no Convex imports.
 *
 * - `checkInputSchema` — is an owner-entered schema acceptable? (save time)
 * - `validateInput`    — does a value satisfy a schema? (every invocation; fails closed)
 */
import { Validator, type Schema } from "@cfworker/json-schema";

export const MAX_SCHEMA_BYTES = 16 * 1024;
export const MAX_SCHEMA_DEPTH = 12;
export const MAX_INPUT_BYTES = 64 * 1024;
const MAX_PATTERN_LENGTH = 256;

const TYPES = new Set(["array", "boolean", "integer", "null", "number", "object", "string"]);
const FORMATS = new Set([
  "date",
  "time",
  "date-time",
  "duration",
  "uri",
  "uri-reference",
  "uri-template",
  "url",
  "email",
  "hostname",
  "ipv4",
  "ipv6",
  "regex",
  "uuid",
  "json-pointer",
  "relative-json-pointer",
]);

type Kind =
  "schema" | "schemaMap" | "schemaList" | "schemaOrList" | "number" | "count" | "bool" | "strings" | "any" | "string";

/** The keywords we accept, with the shape of their value. `$`-keywords are refused (no $ref). */
const KEYWORDS: Record<string, Kind> = {
  type: "any", // checked separately
  title: "string",
  description: "string",
  default: "any",
  examples: "any",
  const: "any",
  enum: "any", // checked separately
  format: "string", // checked separately
  pattern: "string", // checked separately
  properties: "schemaMap",
  patternProperties: "schemaMap",
  additionalProperties: "schema",
  propertyNames: "schema",
  required: "strings",
  minProperties: "count",
  maxProperties: "count",
  items: "schemaOrList",
  prefixItems: "schemaList",
  contains: "schema",
  minItems: "count",
  maxItems: "count",
  uniqueItems: "bool",
  minLength: "count",
  maxLength: "count",
  minimum: "number",
  maximum: "number",
  exclusiveMinimum: "number",
  exclusiveMaximum: "number",
  multipleOf: "number",
  allOf: "schemaList",
  anyOf: "schemaList",
  oneOf: "schemaList",
  not: "schema",
  if: "schema",
  then: "schema",
  else: "schema",
};

export type SchemaCheck = { ok: true } | { ok: false; code: "CONFIG_INVALID"; path: string };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep copy of plain JSON (the validator annotates the schema object it is given). */
function jsonCopy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

function jsonBytes(v: unknown): number {
  try {
    const s = JSON.stringify(v);
    return s === undefined ? 0 : new TextEncoder().encode(s).length;
  } catch {
    return Infinity;
  }
}

/** Walks a subschema; returns the JSON path of the first problem, or null. */
function walk(s: unknown, path: string, depth: number): string | null {
  if (typeof s === "boolean") return null;
  if (!isPlainObject(s)) return path;
  if (depth > MAX_SCHEMA_DEPTH) return path;
  for (const [key, value] of Object.entries(s)) {
    const at = `${path}.${key}`;
    const kind = KEYWORDS[key];
    if (!kind) return at;
    switch (kind) {
      case "schema": {
        const bad = walk(value, at, depth + 1);
        if (bad) return bad;
        break;
      }
      case "schemaMap":
        if (!isPlainObject(value)) return at;
        for (const [k, sub] of Object.entries(value)) {
          if (key === "patternProperties" && !compilesAsPattern(k)) return `${at}.${k}`;
          const bad = walk(sub, `${at}.${k}`, depth + 1);
          if (bad) return bad;
        }
        break;
      case "schemaList":
        if (!Array.isArray(value) || value.length === 0 || value.length > 64) return at;
        for (let i = 0; i < value.length; i++) {
          const bad = walk(value[i], `${at}[${i}]`, depth + 1);
          if (bad) return bad;
        }
        break;
      case "schemaOrList":
        if (Array.isArray(value)) {
          for (let i = 0; i < value.length; i++) {
            const bad = walk(value[i], `${at}[${i}]`, depth + 1);
            if (bad) return bad;
          }
        } else {
          const bad = walk(value, at, depth + 1);
          if (bad) return bad;
        }
        break;
      case "number":
        if (typeof value !== "number" || !Number.isFinite(value)) return at;
        if (key === "multipleOf" && !(value > 0)) return at;
        break;
      case "count":
        if (!Number.isSafeInteger(value) || (value as number) < 0) return at;
        break;
      case "bool":
        if (typeof value !== "boolean") return at;
        break;
      case "strings":
        if (
          !Array.isArray(value) ||
          !value.every((x) => typeof x === "string") ||
          new Set(value).size !== value.length
        ) {
          return at;
        }
        break;
      case "string":
        if (typeof value !== "string") return at;
        break;
      case "any":
        break;
    }
  }
  if ("type" in s) {
    const t = s.type;
    const list = Array.isArray(t) ? t : [t];
    if (list.length === 0 || !list.every((x) => typeof x === "string" && TYPES.has(x))) return `${path}.type`;
  }
  if ("enum" in s && (!Array.isArray(s.enum) || s.enum.length === 0 || s.enum.length > 256)) return `${path}.enum`;
  if ("format" in s && !FORMATS.has(s.format as string)) return `${path}.format`;
  if ("pattern" in s && !compilesAsPattern(s.pattern)) return `${path}.pattern`;
  return null;
}

function compilesAsPattern(p: unknown): boolean {
  if (typeof p !== "string" || p.length > MAX_PATTERN_LENGTH) return false;
  try {
    new RegExp(p, "u");
    return true;
  } catch {
    return false;
  }
}

/**
 * Accepts a self-contained JSON schema for a tool input: an object schema (`type: "object"`),
 * only known keywords with well-formed values, no `$ref`/`$id`/`$defs` (nothing to resolve), at
 * most 16 KB and 12 levels deep, patterns that compile. Then it must construct and run in the
 * validator.
 */
export function checkInputSchema(schema: unknown): SchemaCheck {
  const bad = (path: string): SchemaCheck => ({ ok: false, code: "CONFIG_INVALID", path });
  if (!isPlainObject(schema)) return bad("$");
  if (jsonBytes(schema) > MAX_SCHEMA_BYTES) return bad("$");
  if (schema.type !== "object") return bad("$.type");
  const where = walk(schema, "$", 0);
  if (where) return bad(where);
  try {
    new Validator(jsonCopy(schema) as Schema, "2020-12", true).validate({});
  } catch {
    return bad("$");
  }
  return { ok: true };
}

/** Parses a schema that may be stored as JSON text (e.g. with `$`-keywords Convex cannot store). */
export function parseStoredSchema(stored: unknown): unknown {
  if (typeof stored !== "string") return stored;
  try {
    return JSON.parse(stored);
  } catch {
    return undefined;
  }
}

/**
 * True when `value` satisfies `schema`. Fails closed: an unusable schema, a value that is not
 * plain JSON or one larger than MAX_INPUT_BYTES is invalid.
 */
export function validateInput(schema: unknown, value: unknown): boolean {
  const s = parseStoredSchema(schema);
  if (!(isPlainObject(s) || typeof s === "boolean")) return false;
  if (jsonBytes(value) > MAX_INPUT_BYTES) return false;
  try {
    const copy = typeof s === "boolean" ? s : (jsonCopy(s) as Schema);
    // Round-trip so the validator sees plain JSON (no undefined, functions, bigints).
    const json = JSON.parse(JSON.stringify(value ?? null));
    return new Validator(copy, "2020-12", true).validate(json).valid;
  } catch {
    return false;
  }
}
