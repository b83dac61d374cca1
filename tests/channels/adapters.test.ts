/**
 * The channel platform registry (issue 23 item 3): every vendor is one adapter in
 * convex/channels/platforms/<vendor>.ts, and everything that lists platforms is derived from
 * ADAPTERS, so a sixth platform is one file (plus its line in the registry) and tests.
 */
import { describe, expect, test } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ADAPTERS,
  IDEMPOTENT_SEND,
  LIMIT_SIGNAL,
  PLATFORMS,
  PLATFORM_CATALOG,
  SECRET_NAMES,
  SETTINGS_SCHEMAS,
  isPlatform,
} from "../../convex/channels/platforms/index";
import type { PlatformAdapter } from "../../convex/channels/platforms/types";
import { platformValidator } from "../../convex/channels/tables";
import { parseWebhookPath, setupSteps, validateSettings } from "../../convex/channels/platforms";
import { WEBHOOK_PLATFORMS, verifyInbound } from "../../convex/channels/verify";
import { parseInbound } from "../../convex/channels/payloads";
import { vendorBase } from "../../convex/channels/vendors";
import { channelRoutes } from "../../convex/channels/routes";
import { CHANNEL_LABELS } from "../../convex/agent/activityTemplates";
import { ATTRIBUTES } from "../../convex/lib/trace";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const keys = Object.keys(ADAPTERS);

/** Every field of PlatformAdapter, with the runtime type each must have. */
const FIELDS: Record<keyof PlatformAdapter, (v: unknown) => boolean> = {
  label: (v) => typeof v === "string" && v.length > 0,
  senderLabel: (v) => typeof v === "string" && v.length > 0 && v.length <= 20,
  untrustedContent: (v) => typeof v === "boolean",
  via: (v) => typeof v === "string" && /^(on|by|in) [A-Za-z/ ]{2,30}$/.test(v),
  settingsSchema: (v) => typeof (v as { safeParse?: unknown })?.safeParse === "function",
  settingsFields: (v) => Array.isArray(v),
  secrets: (v) => {
    const s = v as PlatformAdapter["secrets"];
    return (
      typeof s?.verify === "string" &&
      typeof s.send === "string" &&
      Array.isArray(s.all) &&
      s.all.includes(s.verify) &&
      s.all.includes(s.send)
    );
  },
  verify: (v) => typeof v === "function",
  parse: (v) => typeof v === "function",
  limitSignal: (v) => v === "status" || v === "reply" || v === "inline" || v === "drop",
  ack: (v) => typeof v === "function",
  inlineNotice: (v) => v === null || typeof v === "function",
  reply: (v) => {
    const r = v as PlatformAdapter["reply"];
    return (
      Number.isInteger(r?.maxChars) &&
      r.maxChars > 0 &&
      typeof r.usesSecret === "boolean" &&
      typeof r.build === "function"
    );
  },
  fetchText: (v) =>
    v === null ||
    (typeof (v as { request?: unknown }).request === "function" &&
      typeof (v as { text?: unknown }).text === "function"),
  vendorBase: (v) => {
    const b = v as PlatformAdapter["vendorBase"];
    return /^WARDEN_[A-Z]+_API_BASE$/.test(b?.env ?? "") && /^https:\/\//.test(b.fallback);
  },
  idempotentSend: (v) => typeof v === "boolean",
  setupSteps: (v) => typeof v === "function",
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

describe("the adapter registry", () => {
  test("every platform has every adapter field, well-formed", () => {
    expect(keys.length).toBeGreaterThanOrEqual(5);
    for (const p of PLATFORMS) {
      const a = ADAPTERS[p] as unknown as Record<string, unknown>;
      for (const [field, ok] of Object.entries(FIELDS)) {
        expect(field in a, `${p}.${field} missing`).toBe(true);
        expect(ok(a[field]), `${p}.${field} malformed`).toBe(true);
      }
      // No field beyond the type: the type is the whole contract.
      expect(Object.keys(a).sort()).toEqual(Object.keys(FIELDS).sort());
      // The settings form names exactly the schema's keys; the steps name the secrets and the URL.
      const shape = Object.keys(
        (ADAPTERS[p].settingsSchema as unknown as { shape: Record<string, unknown> }).shape,
      ).sort();
      expect(ADAPTERS[p].settingsFields.map((f) => f.key).sort()).toEqual(shape);
      const steps = setupSteps(p, "https://example.test/webhooks/x");
      expect(steps.join("\n")).toContain("https://example.test/webhooks/x");
      expect(steps.join("\n")).toContain(ADAPTERS[p].secrets.verify);
    }
  });

  test("platform names and vendor env names are unique", () => {
    const envs = PLATFORMS.map((p) => ADAPTERS[p].vendorBase.env);
    expect(new Set(envs).size).toBe(envs.length);
    expect(new Set(PLATFORMS.map((p) => ADAPTERS[p].label)).size).toBe(PLATFORMS.length);
    for (const p of PLATFORMS) expect(p).toMatch(/^[a-z]{2,16}$/);
  });

  test("the lists are the registry's keys: PLATFORMS, table validator, verifier list, route, SyncBoard", () => {
    expect([...PLATFORMS]).toEqual(keys);
    expect([...WEBHOOK_PLATFORMS]).toEqual(keys);
    const literals = (platformValidator as unknown as { members: { value: string }[] }).members.map((m) => m.value);
    expect(literals).toEqual(keys);
    expect(PLATFORM_CATALOG.map((e) => e.platform)).toEqual(keys);
    expect(PLATFORM_CATALOG.map((e) => e.label)).toEqual(keys.map((k) => ADAPTERS[k as keyof typeof ADAPTERS].label));
    for (const derived of [SECRET_NAMES, LIMIT_SIGNAL, SETTINGS_SCHEMAS]) expect(Object.keys(derived)).toEqual(keys);
    expect([...IDEMPOTENT_SEND]).toEqual(PLATFORMS.filter((p) => ADAPTERS[p].idempotentSend));
    // One webhook route serves every platform; its path parser accepts exactly the registry's names.
    expect(channelRoutes.map((r) => r.pathPrefix)).toEqual(["/webhooks/"]);
    for (const p of keys)
      expect(parseWebhookPath(`/webhooks/${p}/abcdefghij12`)).toEqual({ platform: p, channelId: "abcdefghij12" });
    for (const p of ["toString", "constructor", "__proto__", "Telegram", "web", "voice", ""]) {
      expect(isPlatform(p)).toBe(false);
      expect(parseWebhookPath(`/webhooks/${p}/abcdefghij12`)).toBeNull();
    }
  });

  test("dispatch refuses names outside the registry", async () => {
    const req = { method: "POST", url: "https://x.test/", headers: {}, body: "{}" };
    expect(await verifyInbound("toString" as never, req, "secret")).toMatchObject({
      ok: false,
      reason: "unknown_platform",
    });
    expect(parseInbound("constructor" as never, { body: "{}", headers: {}, settings: {}, idSalt: "s" })).toEqual({
      ok: false,
    });
    expect(validateSettings("telegram", {}).ok).toBe(true);
    for (const p of PLATFORMS) expect(vendorBase(p, {})).toBe(ADAPTERS[p].vendorBase.fallback);
  });

  test("SyncBoard takes its platform list from the registry, not its own literals", () => {
    for (const f of ["src/pages/Channels.tsx", "src/pages/ChannelSetup.tsx"]) {
      const src = readFileSync(join(REPO, f), "utf8");
      expect(src).toContain("convex/channels/platforms/index");
      expect(src, f).not.toMatch(/type Platform\s*=/);
    }
    const channels = readFileSync(join(REPO, "src/pages/Channels.tsx"), "utf8");
    for (const a of Object.values(ADAPTERS)) expect(channels).not.toContain(JSON.stringify(a.label));
  });

  test("nothing under convex/channels/ outside platforms/ branches on a platform name", () => {
    const dir = join(REPO, "convex/channels");
    const offenders: string[] = [];
    for (const file of sourceFiles(dir)) {
      if (file.startsWith(join(dir, "platforms") + "/")) continue;
      const text = readFileSync(file, "utf8");
      for (const p of keys) {
        const patterns = [
          new RegExp(`case\\s+["'\`]${p}["'\`]`),
          new RegExp(`[!=]==?\\s*["'\`]${p}["'\`]`),
          new RegExp(`["'\`]${p}["'\`]\\s*[!=]==?`),
          new RegExp(`\\b(?:SECRET_NAMES|ADAPTERS|LIMIT_SIGNAL|SETTINGS_SCHEMAS)\\.${p}\\b`),
          new RegExp(`\\b(?:vendorBase|clampReply|setupSteps|parseInbound|verifyInbound\\w*)\\(\\s*["'\`]${p}["'\`]`),
        ];
        for (const re of patterns) if (re.test(text)) offenders.push(`${file.slice(REPO.length)}: ${re}`);
      }
    }
    // Tests beside the modules (verify.test.ts) exercise each vendor by name; that is their job.
    expect(offenders.filter((o) => !o.includes(".test.ts"))).toEqual([]);
  });

  test("activity phrases, attribution names, trace channels and the e-mail taint rule come from the adapters", () => {
    for (const p of PLATFORMS) {
      expect(CHANNEL_LABELS[p]).toBe(ADAPTERS[p].via);
      expect(ATTRIBUTES["warden.channel"]).toContain(p);
    }
    // Outside the adapters, no module of convex/ or SyncBoard's pages names a platform in a string,
    // except the two places that use a vendor as a transport rather than as a channel.
    const allowed = [
      "convex/channels/replies.ts", // the Twilio SDK reply plan kind
      "convex/mcp/outbound/health.ts", // owner alerts sent by e-mail through Resend
      "src/pages/ChannelSetup.tsx", // hand-written setup pages; other platforms get generic steps
    ];
    const offenders: string[] = [];
    for (const root of ["convex", "src"]) {
      for (const file of sourceFiles(join(REPO, root))) {
        const rel = file.slice(REPO.length).replace(/^\//, "");
        if (rel.startsWith("convex/channels/platforms/") || rel.includes("/_generated/")) continue;
        if (/\.test\.tsx?$/.test(rel) || allowed.includes(rel)) continue;
        const text = readFileSync(file, "utf8");
        for (const p of keys) if (new RegExp(`["'\`]${p}["'\`]|\\b${p}:`).test(text)) offenders.push(`${rel}: ${p}`);
      }
    }
    expect(offenders).toEqual([]);
  });
});
