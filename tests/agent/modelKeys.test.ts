// @vitest-environment node
/**
 * Issue 15, items 1–2: a workspace member can never make Warden send an operator secret to a host of
 * their choosing, and model requests go through the egress guard like every other request.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { isModelKeyVariable, keyHosts, resolveModelKey } from "../../convex/agent/providerRules";
import { providerFetch } from "../../convex/agent/providerFetch.node";
import { TEST_ENV } from "../env";
import { expectCode, type T } from "../harness";
import { publicChat, session, thread, waitForReply } from "../chat/setup";
import { replyChat } from "./chatMock";

type Seen = { url: string; headers: Record<string, unknown>; body: string };
const seen: Seen[] = [];
let server: Server;
let base = "";
let host = "";
let respond: "ok" | "redirect" | "huge" = "ok";

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      seen.push({ url: req.url ?? "", headers: { ...req.headers }, body: raw });
      if (respond === "redirect") {
        res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data" });
        res.end();
        return;
      }
      if (respond === "huge") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ pad: "x".repeat(5 * 1024 * 1024) }));
        return;
      }
      void replyChat(res, raw ? JSON.parse(raw) : {}, { content: "hello from the listener" }, "stop");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}/v1`;
  host = `127.0.0.1:${port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const saved: Record<string, string | undefined> = {};
function setEnv(name: string, value: string | undefined) {
  if (!(name in saved)) saved[name] = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
beforeEach(() => {
  seen.length = 0;
  respond = "ok";
  vi.spyOn(console, "warn").mockImplementation(() => undefined); // provider errors are expected here
});
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    delete saved[k];
  }
  vi.restoreAllMocks();
});

/** Every environment variable name the server code reads (convex/ and runtime/), found by scanning the source. */
function operatorVariables(): string[] {
  const names = new Set<string>(Object.keys(TEST_ENV));
  const walk = (dir: string) => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (e === "node_modules" || e === "_generated" || e === "fixtures") continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.ts$/.test(e) && !/\.test\.ts$/.test(e)) {
        const text = readFileSync(p, "utf8");
        for (const m of text.matchAll(
          /\b(?:process\.env|env)(?:\.([A-Z][A-Z0-9_]{2,})|\[\s*"([A-Z][A-Z0-9_]{2,})"\s*\])/g,
        ))
          names.add(m[1] ?? m[2]);
        for (const m of text.matchAll(/"([A-Z][A-Z0-9]*_(?:KEY|SECRET|TOKEN|JWK|JWKS|PASSWORD|SID)[A-Z0-9_]*)"/g))
          names.add(m[1]);
      }
    }
  };
  walk("convex");
  walk("runtime");
  return [...names].sort();
}

async function useProvider(
  t: T,
  owner: Awaited<ReturnType<typeof publicChat>>["owner"],
  providerId: Id<"modelProviders">,
) {
  await owner.as.mutation(api.agent.config.update, { providerId, model: "m", fallbackModel: "offline" });
  const s = await session(t);
  const th = await thread(t, s);
  await t.mutation(api.chat.threads.send, { sessionToken: s, threadId: th, text: "hi" });
  return await waitForReply(t, s, th);
}

async function legacyRow(t: T, workspaceId: Id<"workspaces">, apiKeyEnvVar: string, baseUrl = base) {
  // a row written before these rules (or by a bug): the call path must refuse it on its own
  return await t.run((ctx) =>
    ctx.db.insert("modelProviders", {
      workspaceId,
      kind: "openai-compatible",
      label: "legacy",
      baseUrl,
      apiKeyEnvVar,
      createdAt: Date.now(),
      updatedAt: Date.now(),
    }),
  );
}

describe("model keys are operator-declared variables only", () => {
  test("the scan finds the deployment's own secrets (so the next test cannot pass on an empty list)", () => {
    const names = operatorVariables();
    for (const n of [
      "SKILL_SECRET_ENCRYPTION_KEY",
      "SKILL_SECRET_ENCRYPTION_KEY_PREVIOUS",
      "WARDEN_AUTH_PRIVATE_JWK",
      "RESEND_API_KEY",
    ]) {
      expect(names).toContain(n);
    }
  });

  test("no variable Warden itself reads can be named as a provider's key (create and update)", async () => {
    const { owner } = await publicChat();
    const ok = await owner.as.mutation(api.agent.providers.create, {
      label: "ok",
      kind: "openai-compatible",
      baseUrl: "https://llm.example.com/v1",
      apiKeyEnvVar: "WARDEN_MODEL_KEY_OK",
    });
    const refused: string[] = [];
    for (const name of operatorVariables()) {
      if (isModelKeyVariable(name)) continue;
      for (const kind of ["openai", "openai-compatible", "anthropic", "openrouter"] as const) {
        await expectCode(
          owner.as.mutation(api.agent.providers.create, {
            label: "x",
            kind,
            baseUrl: "https://llm.example.com/v1",
            apiKeyEnvVar: name,
          }),
          "CONFIG_INVALID",
        );
      }
      await expectCode(
        owner.as.mutation(api.agent.providers.update, { providerId: ok, apiKeyEnvVar: name }),
        "CONFIG_INVALID",
      );
      refused.push(name);
    }
    expect(refused).toEqual(
      expect.arrayContaining(["SKILL_SECRET_ENCRYPTION_KEY", "WARDEN_AUTH_PRIVATE_JWK", "CLERK_JWT_ISSUER_DOMAIN"]),
    );
    // a host list is configuration, not a key
    await expectCode(
      owner.as.mutation(api.agent.providers.update, { providerId: ok, apiKeyEnvVar: "WARDEN_MODEL_KEY_OK_HOSTS" }),
      "CONFIG_INVALID",
    );
  });

  test("keyConfigured is no oracle: a stored row naming a Warden secret reads as not configured", async () => {
    const { t, owner } = await publicChat();
    await legacyRow(t, owner.workspaceId, "SKILL_SECRET_ENCRYPTION_KEY", "https://llm.example.com/v1");
    expect(process.env.SKILL_SECRET_ENCRYPTION_KEY).toBeTruthy();
    const list = await owner.as.query(api.agent.providers.list, {});
    expect(list[0].keyConfigured).toBe(false);
  });

  test("a key goes only to the hosts the operator bound it to", () => {
    const env = {
      OPENAI_API_KEY: "k1",
      WARDEN_MODEL_KEY_GROQ: "k2",
      WARDEN_MODEL_KEY_GROQ_HOSTS: "api.groq.com, llm.example.com:8443",
    };
    expect(resolveModelKey({ kind: "openai", apiKeyEnvVar: "OPENAI_API_KEY" }, env)).toMatchObject({
      ok: true,
      host: "api.openai.com",
    });
    expect(
      resolveModelKey({ kind: "openai", apiKeyEnvVar: "OPENAI_API_KEY", baseUrl: "https://evil.example.com/v1" }, env),
    ).toEqual({ ok: false, reason: "host_not_allowed" });
    expect(
      resolveModelKey(
        { kind: "openai-compatible", apiKeyEnvVar: "WARDEN_MODEL_KEY_GROQ", baseUrl: "https://api.groq.com/openai/v1" },
        env,
      ).ok,
    ).toBe(true);
    expect(
      resolveModelKey(
        {
          kind: "openai-compatible",
          apiKeyEnvVar: "WARDEN_MODEL_KEY_GROQ",
          baseUrl: "https://llm.example.com:8443/v1",
        },
        env,
      ).ok,
    ).toBe(true);
    expect(
      resolveModelKey(
        { kind: "openai-compatible", apiKeyEnvVar: "WARDEN_MODEL_KEY_GROQ", baseUrl: "https://llm.example.com/v1" },
        env,
      ).ok,
    ).toBe(false);
    expect(
      resolveModelKey(
        {
          kind: "openai-compatible",
          apiKeyEnvVar: "WARDEN_MODEL_KEY_GROQ",
          baseUrl: "https://api.groq.com.evil.example/v1",
        },
        env,
      ).ok,
    ).toBe(false);
    expect(
      resolveModelKey(
        { kind: "openai-compatible", apiKeyEnvVar: "SKILL_SECRET_ENCRYPTION_KEY", baseUrl: "https://api.groq.com/v1" },
        { ...env, SKILL_SECRET_ENCRYPTION_KEY: "x", SKILL_SECRET_ENCRYPTION_KEY_HOSTS: "api.groq.com" },
      ),
    ).toEqual({ ok: false, reason: "key_not_allowed" });
    // a custom key with no host list goes nowhere
    expect(keyHosts("WARDEN_MODEL_KEY_OTHER", {})).toEqual([]);
  });
});

describe("end to end: a loopback listener receives no Warden secret whatever the owner configures", () => {
  test("every variable name × the owner's own base URL, plus stored rows that skipped validation", async () => {
    setEnv("WARDEN_DEV", "1"); // worst case: loopback base URLs are allowed at all
    setEnv("OPENAI_API_KEY", "sk-operator-openai-canary-7f3a9c");
    setEnv("ANTHROPIC_API_KEY", "sk-ant-operator-canary-51be02");
    setEnv("RESEND_API_KEY", "re_operator_canary_0c4d2e");
    const { t, owner } = await publicChat();
    const names = new Set([
      ...operatorVariables(),
      ...Object.keys(process.env).filter((n) => /^[A-Z][A-Z0-9_]{2,63}$/.test(n)),
    ]);
    const secrets = [...names]
      .map((n) => process.env[n])
      .filter((v): v is string => typeof v === "string" && v.length >= 12);
    expect(secrets).toEqual(
      expect.arrayContaining([TEST_ENV.SKILL_SECRET_ENCRYPTION_KEY, "sk-operator-openai-canary-7f3a9c"]),
    );

    let accepted = 0;
    for (const name of names) {
      for (const kind of ["openai", "openai-compatible", "anthropic", "openrouter"] as const) {
        const id = await owner.as
          .mutation(api.agent.providers.create, {
            label: `${kind}-${name}`.slice(0, 60),
            kind,
            baseUrl: base,
            apiKeyEnvVar: name,
          })
          .catch(() => null);
        if (id) {
          accepted++;
          await useProvider(t, owner, id);
        }
      }
    }
    // the owner may pick the vendor keys by name, but not send them to this host
    expect(accepted).toBeGreaterThan(0);
    for (const name of ["SKILL_SECRET_ENCRYPTION_KEY", "WARDEN_AUTH_PRIVATE_JWK", "OPENAI_API_KEY"]) {
      await useProvider(t, owner, await legacyRow(t, owner.workspaceId, name));
    }
    const received = JSON.stringify(seen);
    for (const s of secrets) expect(received).not.toContain(s);
    expect(seen).toHaveLength(0);
  });

  test("a key bound to the listener reaches it, through the guard and never the global fetch", async () => {
    setEnv("WARDEN_DEV", "1");
    setEnv("WARDEN_MODEL_KEY_LOCAL", "local-model-key-2b9e41");
    setEnv("WARDEN_MODEL_KEY_LOCAL_HOSTS", host);
    const globalFetch = vi.spyOn(globalThis, "fetch");
    const { t, owner } = await publicChat();
    const id = await owner.as.mutation(api.agent.providers.create, {
      label: "local",
      kind: "openai-compatible",
      baseUrl: base,
      apiKeyEnvVar: "WARDEN_MODEL_KEY_LOCAL",
    });
    const reply = await useProvider(t, owner, id);
    expect(reply).toMatchObject({ status: "done", text: "hello from the listener" });
    expect(seen).toHaveLength(1);
    expect(seen[0].headers.authorization).toBe("Bearer local-model-key-2b9e41");
    expect(globalFetch).not.toHaveBeenCalled();
  });
});

describe("provider requests go through the egress guard", () => {
  async function activityReason(t: T) {
    const act = await t.run((ctx) => ctx.db.query("activityLog").collect());
    return act.find((a) => a.kind === "agent.provider_error")?.meta as Record<string, unknown> | undefined;
  }

  test("without WARDEN_DEV a loopback base URL is never contacted, even on a stored row with a bound key", async () => {
    setEnv("WARDEN_MODEL_KEY_LOCAL", "local-model-key-2b9e41");
    setEnv("WARDEN_MODEL_KEY_LOCAL_HOSTS", host);
    const { t, owner } = await publicChat();
    const reply = await useProvider(t, owner, await legacyRow(t, owner.workspaceId, "WARDEN_MODEL_KEY_LOCAL"));
    expect(reply.status).toBe("done"); // the offline fallback answered
    expect(seen).toHaveLength(0);
    expect(await activityReason(t)).toMatchObject({ reason: "egress_blocked" });
  });

  test("a redirect from the provider is not followed", async () => {
    setEnv("WARDEN_DEV", "1");
    setEnv("WARDEN_MODEL_KEY_LOCAL", "local-model-key-2b9e41");
    setEnv("WARDEN_MODEL_KEY_LOCAL_HOSTS", host);
    respond = "redirect";
    const { t, owner } = await publicChat();
    const id = await owner.as.mutation(api.agent.providers.create, {
      label: "local",
      kind: "openai-compatible",
      baseUrl: base,
      apiKeyEnvVar: "WARDEN_MODEL_KEY_LOCAL",
    });
    await useProvider(t, owner, id);
    expect(seen).toHaveLength(1);
    expect(await activityReason(t)).toMatchObject({ reason: "egress_blocked", egressCode: "REDIRECT_BLOCKED" });
  });

  test("a response over the byte cap is cut", async () => {
    setEnv("WARDEN_DEV", "1");
    setEnv("WARDEN_MODEL_KEY_LOCAL", "local-model-key-2b9e41");
    setEnv("WARDEN_MODEL_KEY_LOCAL_HOSTS", host);
    respond = "huge";
    const { t, owner } = await publicChat();
    const id = await owner.as.mutation(api.agent.providers.create, {
      label: "local",
      kind: "openai-compatible",
      baseUrl: base,
      apiKeyEnvVar: "WARDEN_MODEL_KEY_LOCAL",
    });
    await useProvider(t, owner, id);
    expect(await activityReason(t)).toMatchObject({ reason: "egress_blocked", egressCode: "OUTPUT_TOO_LARGE" });
  });

  test.each([["10.0.0.7"], ["169.254.169.254"], ["127.0.0.1"], ["::ffff:127.0.0.1"], ["fd00::1"]])(
    "a public name that resolves to %s is refused at connect time",
    async (address) => {
      const f = providerFetch({
        host: "llm.example.com",
        port: "",
        deadline: Date.now() + 5_000,
        lookup: async () => [{ address, family: address.includes(":") ? 6 : 4 }],
      });
      await expect(
        f("https://llm.example.com/v1/chat/completions", { method: "POST", body: "{}" }),
      ).rejects.toMatchObject({
        name: "ProviderEgressError",
        code: "PRIVATE_ADDRESS_BLOCKED",
      });
    },
  );

  test("only the bound host is reachable through the provider's fetch", async () => {
    const f = providerFetch({
      host: "llm.example.com",
      port: "",
      deadline: Date.now() + 5_000,
      lookup: async () => [{ address: "93.184.216.34", family: 4 }],
    });
    for (const url of [
      "https://other.example.com/v1",
      "https://llm.example.com:8443/v1",
      "https://llm.example.com.evil.example/v1",
    ]) {
      await expect(f(url, { method: "POST", body: "{}" })).rejects.toMatchObject({ code: "DOMAIN_NOT_ALLOWED" });
    }
  });
});
