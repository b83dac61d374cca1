/**
 * HTTP surface for runners and remote operator CLIs.
 *   POST /runner/device/start   {name}        → {deviceCode, userCode, expiresIn, interval}   (public, rate limited per IP)
 *   POST /runner/device/token   {deviceCode}  → {token, expiresAt, …} once approved            (public, guesses limited per IP)
 *   POST /runner/token/refresh  Bearer        → a new token; the presented one stops working
 *   GET  /runner/whoami         Bearer        → name, workspace, capabilities, expiries
 *   GET  /runner/ops/guard                    guard        encryption-key guard status (deployment)
 *   POST /runner/ops/rotation/start           rotation     re-encrypt every secret with the current key
 *   GET  /runner/ops/rotation/status          rotation     deployment-wide rotation progress
 *   POST /runner/ops/skills/sync              skills.sync  deployed code skills into the grant's workspace
 *   GET  /runner/ops/owners                   owners.read  the grant's workspace members
 */
import { z } from "zod";
import { internal } from "../_generated/api";
import type { ActionCtx } from "../_generated/server";
import { endpoint, type HttpInput } from "../access/http";
import type { RouteSpec } from "../routes";
import { errorResponse, jsonResponse } from "../lib/httpSecurity";
import { randomToken, sha256Hex } from "../lib/tokens";
import { assertSecretsConfigured, SecretsNotConfiguredError } from "../secrets/guard";
import {
  DEVICE_CODE_PREFIX,
  DEVICE_REQUEST_TTL_MS,
  POLL_INTERVAL_S,
  RUNNER_NAME,
  RUNNER_TOKEN_PREFIX,
  newUserCode,
  type RunnerCapability,
} from "../lib/runnerCaps";

const StartBody = z.object({ name: z.string().trim().regex(RUNNER_NAME) });
const PollBody = z.object({ deviceCode: z.string().min(10).max(100) });
const RotationBody = z.object({ batchSize: z.number().int().min(1).max(500).optional() });

function parse<T>(schema: z.ZodType<T>, body: string): T | null {
  try {
    return schema.parse(body.trim() === "" ? {} : JSON.parse(body));
  } catch {
    return null;
  }
}

const retry = (ms: number) => ({ "Retry-After": String(Math.max(1, Math.ceil(ms / 1000))) });

export const deviceStart = endpoint("none", async (ctx, { body, ip }) => {
  const p = parse(StartBody, body);
  if (!p) return errorResponse("BAD_REQUEST", 400);
  for (let attempt = 0; attempt < 3; attempt++) {
    const deviceCode = randomToken(DEVICE_CODE_PREFIX);
    const userCode = newUserCode();
    const r = await ctx.runMutation(internal.runners.handshake.start, {
      ip,
      deviceCodeHash: await sha256Hex(deviceCode),
      userCodeHash: await sha256Hex(userCode),
      name: p.name,
    });
    if (r.ok)
      return jsonResponse({
        deviceCode,
        userCode,
        expiresIn: Math.floor(DEVICE_REQUEST_TTL_MS / 1000),
        interval: POLL_INTERVAL_S,
      });
    if (r.code !== "RUNNER_REQUEST_INVALID")
      return errorResponse(r.code, r.code === "RATE_LIMITED" ? 429 : 503, retry(r.retryAfterMs));
  }
  return errorResponse("INTERNAL", 500);
});

export const deviceToken = endpoint("none", async (ctx, { body, ip }) => {
  const p = parse(PollBody, body);
  if (!p) return errorResponse("BAD_REQUEST", 400);
  const token = randomToken(RUNNER_TOKEN_PREFIX);
  const r = await ctx.runMutation(internal.runners.handshake.poll, {
    ip,
    deviceCodeHash: await sha256Hex(p.deviceCode),
    tokenHash: await sha256Hex(token),
  });
  if (!r.ok) {
    if (r.code === "RATE_LIMITED" || r.code === "LIMIT_UNAVAILABLE")
      return errorResponse(r.code, r.code === "RATE_LIMITED" ? 429 : 503, retry(r.retryAfterMs));
    return errorResponse(r.code, 400);
  }
  // Shown once: only its hash is stored.
  return jsonResponse(
    {
      token,
      grantId: r.grantId,
      name: r.name,
      capabilities: r.capabilities,
      expiresAt: r.expiresAt,
      grantExpiresAt: r.grantExpiresAt,
    },
    200,
    { "Cache-Control": "no-store" },
  );
});

function bearer(req: Request): string | null {
  const h = req.headers.get("authorization") ?? "";
  const t = h.startsWith("Bearer ") ? h.slice(7).trim() : "";
  return t.startsWith(RUNNER_TOKEN_PREFIX) && t.length <= 100 ? t : null;
}

export const tokenRefresh = endpoint("runner", async (ctx, { req, ip }) => {
  const t = bearer(req);
  if (!t) return errorResponse("RUNNER_TOKEN_INVALID", 401);
  const token = randomToken(RUNNER_TOKEN_PREFIX);
  const r = await ctx.runMutation(internal.runners.handshake.refresh, {
    ip,
    tokenHash: await sha256Hex(t),
    newTokenHash: await sha256Hex(token),
  });
  if (!r) return errorResponse("RUNNER_TOKEN_INVALID", 401);
  return jsonResponse({ token, expiresAt: r.expiresAt, grantExpiresAt: r.grantExpiresAt }, 200, {
    "Cache-Control": "no-store",
  });
});

type Grant = {
  grantId: string;
  workspaceId: string;
  name: string;
  capabilities: string[];
  expiresAt: number;
  grantExpiresAt: number;
};

/** A route that needs a live runner token with `capability` (audited as runner.call `op`). */
function runnerOp(
  capability: RunnerCapability | undefined,
  op: string,
  run: (ctx: ActionCtx, grant: Grant, input: HttpInput) => Promise<Response>,
): ReturnType<typeof endpoint> {
  return endpoint("runner", async (ctx, input): Promise<Response> => {
    const t = bearer(input.req);
    if (!t) return errorResponse("RUNNER_TOKEN_INVALID", 401);
    const r: { ok: true; grant: Grant } | { ok: false; code: string; retryAfterMs: number } = await ctx.runMutation(
      internal.runners.handshake.authorize,
      { ip: input.ip, tokenHash: await sha256Hex(t), capability, op },
    );
    if (!r.ok) {
      const status =
        r.code === "RUNNER_TOKEN_INVALID"
          ? 401
          : r.code === "CAPABILITY_REQUIRED"
            ? 403
            : r.code === "RATE_LIMITED"
              ? 429
              : 503;
      return errorResponse(r.code, status, status === 429 || status === 503 ? retry(r.retryAfterMs) : {});
    }
    return await run(ctx, r.grant, input);
  });
}

export const whoami = runnerOp(undefined, "whoami", async (_ctx, g) => jsonResponse(g));

export const guardCheck = runnerOp("guard", "guard.check", async () => {
  try {
    return jsonResponse({ ok: true, ...assertSecretsConfigured(process.env) });
  } catch (e) {
    if (e instanceof SecretsNotConfiguredError) return jsonResponse({ ok: false, code: e.code });
    throw e;
  }
});

export const rotationStart = runnerOp("rotation", "rotation.start", async (ctx, _g, { body }): Promise<Response> => {
  const p = parse(RotationBody, body);
  if (!p) return errorResponse("BAD_REQUEST", 400);
  return jsonResponse(
    await ctx.runMutation(internal.secrets.rotation.start, p.batchSize ? { batchSize: p.batchSize } : {}),
  );
});

export const rotationStatus = runnerOp("rotation", "rotation.status", async (ctx): Promise<Response> =>
  jsonResponse(await ctx.runQuery(internal.secrets.rotation.globalStatus, {})),
);

export const skillsSync = runnerOp("skills.sync", "skills.sync", async (ctx, g): Promise<Response> =>
  jsonResponse(
    await ctx.runMutation(internal.runners.ops.syncSkills, { workspaceId: g.workspaceId as any, runner: g.name }),
  ),
);

export const owners = runnerOp("owners.read", "owners.read", async (ctx, g): Promise<Response> =>
  jsonResponse(await ctx.runQuery(internal.runners.ops.members, { workspaceId: g.workspaceId as any })),
);

export const runnerRoutes: RouteSpec[] = [
  { path: "/runner/device/start", method: "POST", handler: deviceStart },
  { path: "/runner/device/token", method: "POST", handler: deviceToken },
  { path: "/runner/token/refresh", method: "POST", handler: tokenRefresh },
  { path: "/runner/whoami", method: "GET", handler: whoami },
  { path: "/runner/ops/guard", method: "GET", handler: guardCheck },
  { path: "/runner/ops/rotation/start", method: "POST", handler: rotationStart },
  { path: "/runner/ops/rotation/status", method: "GET", handler: rotationStatus },
  { path: "/runner/ops/skills/sync", method: "POST", handler: skillsSync },
  { path: "/runner/ops/owners", method: "GET", handler: owners },
];
