/**
 * The fixed table of template skills. A template skill's config is `{ template: <id>, ...options }`
 * and is parsed with the template's zod `configSchema` when it is saved AND every time it runs.
 * Templates run only through the executors in skills/execute.ts (no network) and
 * skills/executeNode.ts (network, through safeFetch) — never through owner-supplied code.
 */
import { z } from "zod";
import { validateUrlTemplate } from "../lib/urlTemplate";
import { evaluate } from "./lib/calc";
import { isValidPointer, resolvePointer } from "./lib/jsonPointer";
import { parseFeed, MAX_FEED_ITEMS } from "./lib/feed";

export const TEMPLATE_IDS = ["http_get_json", "rss_feed", "calculator", "time_in_zone"] as const;
export type TemplateId = (typeof TEMPLATE_IDS)[number];

export type RunResult = { ok: true; output: unknown } | { ok: false; code: string };

const urlTemplate = z
  .string()
  .min(8)
  .max(2048)
  .refine((s) => validateUrlTemplate(s).ok, { message: "URL_TEMPLATE_INVALID" });

export function isTimeZone(zone: string): boolean {
  if (typeof zone !== "string" || zone.length === 0 || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const httpGetJsonConfig = z.strictObject({
  template: z.literal("http_get_json"),
  urlTemplate,
  jsonPointer: z.string().refine(isValidPointer).optional(),
});
const rssFeedConfig = z.strictObject({
  template: z.literal("rss_feed"),
  urlTemplate,
  maxItems: z.number().int().min(1).max(MAX_FEED_ITEMS).optional(),
});
const calculatorConfig = z.strictObject({
  template: z.literal("calculator"),
  precision: z.number().int().min(1).max(15).optional(),
});
const timeInZoneConfig = z.strictObject({
  template: z.literal("time_in_zone"),
  defaultZone: z.string().refine(isTimeZone).optional(),
});

/** Input schema from a URL template's placeholders: each a required short scalar. */
export function placeholderInputSchema(template: string): Record<string, unknown> {
  const v = validateUrlTemplate(template);
  const properties: Record<string, unknown> = {};
  if (v.ok) for (const p of v.placeholders) properties[p.name] = { type: ["string", "number"], maxLength: 256 };
  return { type: "object", properties, required: Object.keys(properties), additionalProperties: false };
}

export type TemplateDef = {
  id: TemplateId;
  description: string;
  configSchema: z.ZodType;
  /** The input schema a new skill gets when the owner gives none. */
  defaultInputSchema: (config: Record<string, unknown>) => Record<string, unknown>;
  /** Network templates run in the Node executor and pass the egress checks. */
  network: boolean;
  /** Local templates: the whole computation. */
  runLocal?: (config: Record<string, unknown>, input: Record<string, unknown>) => RunResult;
  /** Network templates: turn the fetched body into the output. */
  parseBody?: (config: Record<string, unknown>, body: string) => RunResult;
};

function roundTo(value: number, digits: number): number {
  return Number(value.toPrecision(digits));
}

function timeIn(zone: string, now: Date): Record<string, string> {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
    weekday: "long",
    timeZoneName: "longOffset",
  }).formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const offset = get("timeZoneName").replace(/^GMT$/, "GMT+00:00");
  return {
    zone,
    date: `${get("year")}-${get("month")}-${get("day")}`,
    time: `${get("hour")}:${get("minute")}:${get("second")}`,
    weekday: get("weekday"),
    utcOffset: offset.replace(/^GMT/, "") || "+00:00",
    utc: now.toISOString(),
  };
}

export const TEMPLATES: Record<TemplateId, TemplateDef> = {
  http_get_json: {
    id: "http_get_json",
    description: "GET a JSON document from an allowlisted API; optionally return one value (JSON Pointer).",
    configSchema: httpGetJsonConfig,
    defaultInputSchema: (c) => placeholderInputSchema(String(c.urlTemplate ?? "")),
    network: true,
    parseBody: (config, body) => {
      let doc: unknown;
      try {
        doc = JSON.parse(body);
      } catch {
        return { ok: false, code: "UPSTREAM_ERROR" };
      }
      const pointer = typeof config.jsonPointer === "string" ? config.jsonPointer : "";
      const value = resolvePointer(doc, pointer);
      return { ok: true, output: value === undefined ? null : value };
    },
  },
  rss_feed: {
    id: "rss_feed",
    description: "Read an RSS or Atom feed from an allowlisted site: latest items with title, link, date.",
    configSchema: rssFeedConfig,
    defaultInputSchema: (c) => placeholderInputSchema(String(c.urlTemplate ?? "")),
    network: true,
    parseBody: (config, body) => {
      const r = parseFeed(body, typeof config.maxItems === "number" ? config.maxItems : 10);
      return r.ok ? { ok: true, output: r.feed } : { ok: false, code: r.code };
    },
  },
  calculator: {
    id: "calculator",
    description: "Evaluate an arithmetic expression (+ - * / % ^, parentheses, sqrt, ln, sin, min, max, pi, e…).",
    configSchema: calculatorConfig,
    defaultInputSchema: () => ({
      type: "object",
      properties: { expression: { type: "string", minLength: 1, maxLength: 500 } },
      required: ["expression"],
      additionalProperties: false,
    }),
    network: false,
    runLocal: (config, input) => {
      const r = evaluate(String(input.expression ?? ""));
      if (!r.ok) return r;
      const digits = typeof config.precision === "number" ? config.precision : 12;
      return { ok: true, output: { result: roundTo(r.value, digits) } };
    },
  },
  time_in_zone: {
    id: "time_in_zone",
    description: "Current date and time in an IANA time zone (e.g. Europe/Paris). No network.",
    configSchema: timeInZoneConfig,
    defaultInputSchema: () => ({
      type: "object",
      properties: { zone: { type: "string", minLength: 1, maxLength: 64 } },
      additionalProperties: false,
    }),
    network: false,
    runLocal: (config, input) => {
      const zone =
        typeof input.zone === "string"
          ? input.zone
          : typeof config.defaultZone === "string"
            ? config.defaultZone
            : "UTC";
      if (!isTimeZone(zone)) return { ok: false, code: "INPUT_INVALID" };
      return { ok: true, output: timeIn(zone, new Date()) };
    },
  },
};

export function isTemplateId(id: unknown): id is TemplateId {
  return typeof id === "string" && (TEMPLATE_IDS as readonly string[]).includes(id);
}

/** Parses a stored template config; null when it does not match its template's schema. */
export function parseTemplateConfig(config: unknown): { def: TemplateDef; config: Record<string, unknown> } | null {
  if (typeof config !== "object" || config === null) return null;
  const id = (config as { template?: unknown }).template;
  if (!isTemplateId(id)) return null;
  const def = TEMPLATES[id];
  const parsed = def.configSchema.safeParse(config);
  if (!parsed.success) return null;
  return { def, config: parsed.data as Record<string, unknown> };
}
