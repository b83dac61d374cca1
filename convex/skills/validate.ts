/**
 * Server-side validation of a skill definition (create/update). Errors are inline-displayable:
 * `{ code, field, index? }` — the first one is the ConvexError's code, all are listed in `errors`.
 * Domains are only what the owner typed (normalized); nothing is inferred or added.
 */
import { z } from "zod";
import { validateAllowlistEntry, checkEgressUrl, TRANSPORT_HEADERS } from "../lib/egress";
import { validateUrlTemplate, renderUrlTemplate } from "../lib/urlTemplate";
import { checkInputSchema } from "../lib/jsonSchema";
import { isSensitiveKey } from "../lib/redact";
import { DEFAULT_MAX_IMAGE_BYTES } from "../lib/imageSniff";
import { isTemplateId, placeholderInputSchema, TEMPLATES } from "./templates";
import type { SkillConfig, TemplateConfig } from "./tables";

export const SKILL_NAME = /^[a-z][a-z0-9_-]{1,62}$/;
export const SECRET_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
export const MAX_DESCRIPTION = 1000;
export const MAX_DOMAINS = 20;
export const MAX_SECRETS = 16;
export const RATE_PER_MINUTE_MAX = 1000;
export const TIMEOUT_MIN_MS = 100;
export const TIMEOUT_MAX_MS = 60_000;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const OUTPUT_MIN_BYTES = 256;
export const OUTPUT_MAX_BYTES = 1024 * 1024;
export const DEFAULT_MAX_OUTPUT_BYTES = 50 * 1024;
export const IMAGE_MAX_BYTES_CEILING = 20 * 1024 * 1024;

export const IMAGE_INPUT_SCHEMA = {
  type: "object",
  properties: { storageId: { type: "string", minLength: 1, maxLength: 64 } },
  required: ["storageId"],
  additionalProperties: false,
} as const;

export type FieldError = { code: string; field: string; index?: number };
export type CreatableType = "template" | "webhook" | "image";

export type SkillDraft = {
  name: string;
  description: string;
  type: string;
  inputSchema?: unknown;
  config: unknown;
  allowedDomains: string[];
  allowHttp?: boolean;
  secretNames: string[];
  rateLimitPerMinute?: number;
  timeoutMs?: number;
  maxOutputBytes?: number;
};

export type NormalizedSkill = {
  name: string;
  description: string;
  type: CreatableType;
  inputSchema: Record<string, unknown>;
  config: SkillConfig;
  allowedDomains: string[];
  allowHttp?: boolean;
  secretNames: string[];
  rateLimitPerMinute?: number;
  timeoutMs: number;
  maxOutputBytes: number;
};

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);
/** Transport headers, plus the forwarding headers a skill could use to spoof a client address. */
const FORBIDDEN_HEADERS = new Set([
  ...TRANSPORT_HEADERS,
  "forwarded",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-real-ip",
]);

export const webhookConfigSchema = z.strictObject({
  urlTemplate: z.string().min(8).max(2048),
  method: z.enum(["GET", "POST"]),
  /** Static, non-secret headers. */
  headers: z
    .record(
      headerName,
      z
        .string()
        .max(1024)
        .regex(/^[\x20-\x7e]*$/),
    )
    .optional(),
  /** Header name → secret name; the value is injected server-side at execution time only. */
  secretHeaders: z
    .record(
      headerName,
      z.strictObject({
        secret: z.string().regex(SECRET_NAME),
        prefix: z
          .string()
          .regex(/^[A-Za-z]{1,20} $/)
          .optional(),
      }),
    )
    .optional(),
});

export const imageConfigSchema = z.strictObject({
  operation: z.literal("image_info"),
  maxImageBytes: z.number().int().min(1).max(IMAGE_MAX_BYTES_CEILING).optional(),
});

export function imageLimit(config: unknown): number {
  const n = (config as { maxImageBytes?: unknown } | null)?.maxImageBytes;
  return typeof n === "number" ? n : DEFAULT_MAX_IMAGE_BYTES;
}

/** The URL template a skill fetches from, if its type has one. */
export function urlTemplateOf(type: string, config: unknown): string | null {
  const c = (config ?? {}) as Record<string, unknown>;
  if (type === "webhook") return typeof c.urlTemplate === "string" ? c.urlTemplate : null;
  if (type === "template" && isTemplateId(c.template) && TEMPLATES[c.template].network) {
    return typeof c.urlTemplate === "string" ? c.urlTemplate : null;
  }
  return null;
}

/**
 * Static egress check of a URL template: rendered with placeholder values, the URL must pass
 * checkEgressUrl against the skill's own allowlist (https unless allowHttp, exact host match).
 */
export function checkTemplateEgress(template: string, allowedDomains: string[], allowHttp: boolean): FieldError | null {
  const v = validateUrlTemplate(template);
  if (!v.ok) return { code: "URL_TEMPLATE_INVALID", field: "config.urlTemplate" };
  const params: Record<string, string> = {};
  for (const p of v.placeholders) params[p.name] = "x";
  const rendered = renderUrlTemplate(template, params);
  if (!rendered.ok) return { code: "URL_TEMPLATE_INVALID", field: "config.urlTemplate" };
  const egress = checkEgressUrl(rendered.url, allowedDomains, { allowHttp });
  if (!egress.ok) return { code: egress.code, field: "config.urlTemplate" };
  return null;
}

/** Each entry validated on its own (wildcards, IPs, schemes, paths rejected), normalized, de-duplicated. */
export function validateAllowlistDomains(entries: unknown): { domains: string[]; errors: FieldError[] } {
  const domains: string[] = [];
  const errors: FieldError[] = [];
  if (!Array.isArray(entries) || entries.length > MAX_DOMAINS) {
    return { domains, errors: [{ code: "CONFIG_INVALID", field: "allowedDomains" }] };
  }
  entries.forEach((entry, index) => {
    const r = validateAllowlistEntry(entry);
    if (!r.ok) errors.push({ code: r.code, field: "allowedDomains", index });
    else if (!domains.includes(r.value)) domains.push(r.value);
  });
  return { domains, errors };
}

function intIn(v: unknown, lo: number, hi: number): boolean {
  return Number.isSafeInteger(v) && (v as number) >= lo && (v as number) <= hi;
}

/**
 * Validates and normalizes a draft. `checkUrlHost` (on create and whenever config changes):
 * the URL template's host must be in the allowlist; narrowing the allowlist later is allowed and
 * then fails closed at invocation (DOMAIN_NOT_ALLOWED).
 */
export function validateDraft(
  d: SkillDraft,
  opts: { checkUrlHost: boolean },
): { ok: true; value: NormalizedSkill } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const err = (code: string, field: string, index?: number) =>
    errors.push(index === undefined ? { code, field } : { code, field, index });

  if (typeof d.name !== "string" || !SKILL_NAME.test(d.name)) err("CONFIG_INVALID", "name");
  if (typeof d.description !== "string" || d.description.trim() === "" || d.description.length > MAX_DESCRIPTION) {
    err("CONFIG_INVALID", "description");
  }
  const type = d.type;
  if (type !== "template" && type !== "webhook" && type !== "image") {
    err("CONFIG_INVALID", "type");
    return { ok: false, errors };
  }

  const { domains, errors: domainErrors } = validateAllowlistDomains(d.allowedDomains);
  errors.push(...domainErrors);

  const secretNames: string[] = [];
  if (!Array.isArray(d.secretNames) || d.secretNames.length > MAX_SECRETS) {
    err("CONFIG_INVALID", "secretNames");
  } else {
    d.secretNames.forEach((name, index) => {
      if (typeof name !== "string" || !SECRET_NAME.test(name) || secretNames.includes(name)) {
        err("CONFIG_INVALID", "secretNames", index);
      } else secretNames.push(name);
    });
  }

  if (d.rateLimitPerMinute !== undefined && !intIn(d.rateLimitPerMinute, 1, RATE_PER_MINUTE_MAX)) {
    err("CONFIG_INVALID", "rateLimitPerMinute");
  }
  const timeoutMs = d.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!intIn(timeoutMs, TIMEOUT_MIN_MS, TIMEOUT_MAX_MS)) err("CONFIG_INVALID", "timeoutMs");
  const maxOutputBytes = d.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  if (!intIn(maxOutputBytes, OUTPUT_MIN_BYTES, OUTPUT_MAX_BYTES)) err("CONFIG_INVALID", "maxOutputBytes");
  if (d.allowHttp !== undefined && typeof d.allowHttp !== "boolean") err("CONFIG_INVALID", "allowHttp");
  const allowHttp = d.allowHttp === true;

  // set by every branch that adds no error; the value is returned only when there is none
  let config = {} as SkillConfig;
  let inputSchema: unknown = d.inputSchema;
  let fetches = false;

  if (type === "template") {
    const id = (d.config as { template?: unknown } | null)?.template;
    if (!isTemplateId(id)) {
      err("CONFIG_INVALID", "config.template");
    } else {
      const def = TEMPLATES[id];
      const parsed = def.configSchema.safeParse(d.config);
      if (!parsed.success) {
        const first = parsed.error.issues[0];
        const path = first?.path?.length ? `config.${first.path.map(String).join(".")}` : "config";
        err(first?.message === "URL_TEMPLATE_INVALID" ? "URL_TEMPLATE_INVALID" : "CONFIG_INVALID", path);
      } else {
        // the template's strictObject output: its literal `template` and its typed options
        config = parsed.data as TemplateConfig;
        if (inputSchema === undefined) inputSchema = def.defaultInputSchema(config);
        fetches = def.network;
      }
    }
    if (secretNames.length > 0) err("CONFIG_INVALID", "secretNames");
  } else if (type === "webhook") {
    const parsed = webhookConfigSchema.safeParse(d.config);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      err("CONFIG_INVALID", first?.path?.length ? `config.${first.path.map(String).join(".")}` : "config");
    } else {
      config = parsed.data;
      fetches = true;
      const c = parsed.data;
      if (!validateUrlTemplate(c.urlTemplate).ok) err("URL_TEMPLATE_INVALID", "config.urlTemplate");
      else if (inputSchema === undefined) inputSchema = placeholderInputSchema(c.urlTemplate);
      const staticNames = Object.keys(c.headers ?? {}).map((h) => h.toLowerCase());
      const secretHeaderNames = Object.keys(c.secretHeaders ?? {}).map((h) => h.toLowerCase());
      for (const h of staticNames) {
        // credentials go in secretHeaders, never in config
        if (FORBIDDEN_HEADERS.has(h) || isSensitiveKey(h)) err("CONFIG_INVALID", `config.headers.${h}`);
      }
      for (const h of secretHeaderNames) {
        if (FORBIDDEN_HEADERS.has(h) || staticNames.includes(h)) err("CONFIG_INVALID", `config.secretHeaders.${h}`);
      }
      for (const [h, ref] of Object.entries(c.secretHeaders ?? {})) {
        if (!secretNames.includes(ref.secret)) err("CONFIG_INVALID", `config.secretHeaders.${h.toLowerCase()}`);
      }
    }
  } else {
    const parsed = imageConfigSchema.safeParse(d.config);
    if (!parsed.success) err("CONFIG_INVALID", "config");
    else config = parsed.data;
    if (inputSchema !== undefined && JSON.stringify(inputSchema) !== JSON.stringify(IMAGE_INPUT_SCHEMA)) {
      err("CONFIG_INVALID", "inputSchema");
    }
    inputSchema = JSON.parse(JSON.stringify(IMAGE_INPUT_SCHEMA));
    if (secretNames.length > 0) err("CONFIG_INVALID", "secretNames");
  }

  if (!fetches) {
    if (domains.length > 0) err("CONFIG_INVALID", "allowedDomains");
    if (allowHttp) err("CONFIG_INVALID", "allowHttp");
  }
  if (inputSchema === undefined) {
    err("CONFIG_INVALID", "inputSchema");
  } else {
    const s = checkInputSchema(inputSchema);
    if (!s.ok) err("CONFIG_INVALID", s.path === "$" ? "inputSchema" : `inputSchema${s.path.slice(1)}`);
  }

  if (errors.length === 0 && fetches && opts.checkUrlHost) {
    const template = urlTemplateOf(type, config);
    const e =
      template === null
        ? { code: "URL_TEMPLATE_INVALID", field: "config.urlTemplate" }
        : checkTemplateEgress(template, domains, allowHttp);
    if (e) errors.push(e);
  }

  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name: d.name,
      description: d.description.trim(),
      type,
      inputSchema: inputSchema as Record<string, unknown>,
      config,
      allowedDomains: domains,
      allowHttp: fetches ? allowHttp : undefined,
      secretNames,
      rateLimitPerMinute: d.rateLimitPerMinute,
      timeoutMs,
      maxOutputBytes,
    },
  };
}
