"use node";
/**
 * Executor for skills that reach the network: webhook skills, network templates (http_get_json,
 * rss_feed) and code skills. Internal; called only by the security checker after approval,
 * status, schema, limits and the static egress check. Every request goes through safeFetch:
 * allowlist again, address vetted at connect time, no redirects, timeout, streamed size cap.
 * Secrets are read here, at execution time, only the skill's own, and go into headers only;
 * they are removed from the output before it leaves this action.
 */
import { v, ConvexError } from "convex/values";
import { skillConfigValidator } from "./tables";
import { internalAction, type ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { safeFetch } from "../lib/safeFetch.node.js";
import { redactValue } from "../lib/redact";
import { parseTemplateConfig } from "./templates";
import { webhookConfigSchema } from "./validate";
import { CODE_SKILLS } from "./code";
import type { GuardedFetchInit, GuardedFetchResult } from "./code/types";
import { okJson, runOutcomeValidator, type RunOutcome } from "./outcome";

const USER_AGENT = "Warden-Skill/1";
/** Fetch failures that mean the request itself was refused by the egress rules. */
const EGRESS_DENIALS = new Set([
  "DOMAIN_NOT_ALLOWED",
  "PRIVATE_ADDRESS_BLOCKED",
  "REDIRECT_BLOCKED",
  "SCHEME_NOT_ALLOWED",
  "USERINFO_NOT_ALLOWED",
  "PORT_NOT_ALLOWED",
  "URL_INVALID",
]);

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname;
  } catch {
    return undefined;
  }
}

async function readSecrets(
  ctx: ActionCtx,
  skillId: Id<"skillRegistry">,
  names: string[],
): Promise<Record<string, string> | string> {
  if (names.length === 0) return {};
  try {
    return await ctx.runAction(internal.secrets.access.readSkillSecrets, { skillId, names });
  } catch (e) {
    const code =
      e instanceof ConvexError && typeof (e.data as { code?: unknown })?.code === "string"
        ? (e.data as { code: string }).code
        : "";
    return code === "SECRET_DECRYPT_FAILED" ? code : "SECRET_ACCESS_DENIED";
  }
}

function parseBody(body: string, contentType: string | undefined): unknown {
  if (contentType && /\bjson\b/i.test(contentType)) {
    try {
      return JSON.parse(body);
    } catch {
      return body;
    }
  }
  return body;
}

export const run = internalAction({
  args: {
    skillId: v.id("skillRegistry"),
    type: v.union(v.literal("webhook"), v.literal("template"), v.literal("code")),
    config: skillConfigValidator,
    input: v.any(),
    /** the URL the checker rendered and checked (webhook and network templates) */
    url: v.optional(v.string()),
    allowedDomains: v.array(v.string()),
    allowHttp: v.boolean(),
    secretNames: v.array(v.string()),
    timeoutMs: v.number(),
    maxOutputBytes: v.number(),
  },
  returns: runOutcomeValidator,
  handler: async (ctx, a): Promise<RunOutcome> => {
    const started = Date.now();
    const remaining = () => Math.max(1, a.timeoutMs - (Date.now() - started));
    const fetchGuarded = (url: string, init: { method?: string; headers?: Record<string, string>; body?: string }) =>
      safeFetch(url, {
        method: init.method ?? "GET",
        headers: { "user-agent": USER_AGENT, ...(init.headers ?? {}) },
        body: init.body,
        allowlist: a.allowedDomains,
        allowHttp: a.allowHttp,
        timeoutMs: remaining(),
        maxBytes: a.maxOutputBytes,
      });

    if (a.type === "webhook") {
      const parsed = webhookConfigSchema.safeParse(a.config);
      if (!parsed.success || !a.url) return { ok: false, code: "CONFIG_INVALID" };
      const cfg = parsed.data;
      const refs = Object.entries(cfg.secretHeaders ?? {});
      const names = [...new Set(refs.map(([, r]) => r.secret))];
      const secrets = await readSecrets(ctx, a.skillId, names);
      if (typeof secrets === "string") return { ok: false, code: secrets };
      const headers: Record<string, string> = { accept: "application/json, text/plain;q=0.8", ...(cfg.headers ?? {}) };
      for (const [header, ref] of refs) {
        const value = secrets[ref.secret];
        if (value === undefined) return { ok: false, code: "SECRET_NOT_SET" }; // fail closed
        headers[header] = `${ref.prefix ?? ""}${value}`;
      }
      let body: string | undefined;
      if (cfg.method === "POST") {
        headers["content-type"] = "application/json";
        body = JSON.stringify(a.input ?? {});
      }
      const res = await fetchGuarded(a.url, { method: cfg.method, headers, body });
      if (!res.ok) return { ok: false, code: res.code, host: hostOf(a.url) };
      if (res.status < 200 || res.status > 299) return { ok: false, code: "UPSTREAM_ERROR" };
      const output = redactValue(parseBody(res.body, res.headers["content-type"]), Object.values(secrets));
      return { ...okJson(output), bytes: res.bytes };
    }

    if (a.type === "template") {
      const parsed = parseTemplateConfig(a.config);
      if (!parsed || !parsed.def.network || !parsed.def.parseBody || !a.url)
        return { ok: false, code: "CONFIG_INVALID" };
      const res = await fetchGuarded(a.url, {
        headers: { accept: "application/json, application/rss+xml, application/atom+xml, text/xml;q=0.9, */*;q=0.5" },
      });
      if (!res.ok) return { ok: false, code: res.code, host: hostOf(a.url) };
      if (res.status < 200 || res.status > 299) return { ok: false, code: "UPSTREAM_ERROR" };
      const r = parsed.def.parseBody(parsed.config, res.body);
      return r.ok ? { ...okJson(r.output), bytes: res.bytes } : { ok: false, code: r.code };
    }

    // code skill: the module the registry names, its approved domains, its own declared secrets
    const moduleName = (a.config as { module?: unknown } | null)?.module;
    const mod = typeof moduleName === "string" ? CODE_SKILLS[moduleName] : undefined;
    if (!mod) return { ok: false, code: "SKILL_INACTIVE" };
    const declared = a.secretNames.filter((n) => mod.skillMeta.permissions.secrets.includes(n));
    const secrets = await readSecrets(ctx, a.skillId, declared);
    if (typeof secrets === "string") return { ok: false, code: secrets };
    let violation: { code: string; host?: string } | null = null;
    const tools = {
      fetch: async (url: string, init: GuardedFetchInit = {}): Promise<GuardedFetchResult> => {
        if (violation) return { ok: false, code: violation.code };
        const res = await fetchGuarded(String(url), {
          method: init.method === "POST" ? "POST" : "GET",
          headers: init.headers,
          body: typeof init.body === "string" ? init.body : undefined,
        });
        if (!res.ok) {
          // Egress refusals, timeouts and oversize responses fail the whole invocation.
          if (EGRESS_DENIALS.has(res.code) || res.code === "TIMEOUT" || res.code === "OUTPUT_TOO_LARGE") {
            violation = { code: res.code, host: hostOf(String(url)) };
          }
          return { ok: false, code: res.code };
        }
        return { ok: true, status: res.status, body: res.body, contentType: res.headers["content-type"] ?? null };
      },
      secret: (name: string) => (declared.includes(name) ? secrets[name] : undefined),
    };
    let output: unknown;
    try {
      output = await mod.handler(a.input ?? {}, tools);
    } catch {
      return { ok: false, code: "SKILL_ERROR" };
    }
    const v2 = violation as { code: string; host?: string } | null;
    if (v2) return { ok: false, code: v2.code, host: v2.host };
    return okJson(redactValue(output, Object.values(secrets)));
  },
});
