/** Shared setup for the checker tests: a convex-test instance, members, approved skills, log readers. */
import { convexTest } from "convex-test";
import rateLimiterTest from "@convex-dev/rate-limiter/test";
import schema from "../../convex/schema";
import { modules } from "../../convex/test.setup";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { member } from "../harness";

/** convex-test with the app's modules plus `extra` (test-only modules such as an MCP client stub). */
export function checkerT(extra: Record<string, () => Promise<any>> = {}) {
  const t = convexTest(schema, { ...modules, ...extra });
  rateLimiterTest.register(t);
  return t;
}
export type CT = ReturnType<typeof checkerT>;

export async function admin(t: CT, workspace = "ws-a") {
  return await member(t as any, { role: "owner", workspace });
}
export type Admin = Awaited<ReturnType<typeof admin>>;

export type Draft = {
  name: string;
  description?: string;
  type: "template" | "webhook" | "image";
  inputSchema?: unknown;
  config: unknown;
  allowedDomains?: string[];
  allowHttp?: boolean;
  secretNames?: string[];
  rateLimitPerMinute?: number;
  timeoutMs?: number;
  maxOutputBytes?: number;
};

export async function createSkill(a: Admin, d: Draft): Promise<Id<"skillRegistry">> {
  return await a.as.mutation(api.skills.registry.create, {
    description: `${d.name} skill`,
    allowedDomains: [],
    ...d,
  } as any);
}

export async function approvedSkill(a: Admin, d: Draft): Promise<Id<"skillRegistry">> {
  const id = await createSkill(a, d);
  await a.as.mutation(api.skills.registry.approve, { skillId: id });
  return id;
}

export const calculator = (name = "calc", extra: Partial<Draft> = {}): Draft => ({
  name,
  type: "template",
  config: { template: "calculator" },
  ...extra,
});

/** An agent run on behalf of an owner (the agency gate allows; these tests are about the checker's other steps). */
export const OWNER_RUN = { audience: "ownerSender", tainted: false } as const;
export async function invoke(
  t: CT,
  a: Admin,
  skillName: string,
  input: unknown,
  caller: { kind: string; id?: string; audience?: string; tainted?: boolean } = {
    kind: "agent",
    id: "thread-1",
    ...OWNER_RUN,
  },
) {
  return await t.action(internal.security.checker.invokeSkill, {
    workspaceId: a.workspaceId,
    skillName,
    input,
    caller,
  });
}

export async function logs(t: CT) {
  return await t.run(async (ctx) => await ctx.db.query("invocationLog").order("asc").take(1000));
}
export async function events(t: CT) {
  return await t.run(async (ctx) => await ctx.db.query("securityEvents").order("asc").take(1000));
}

/** Every string stored anywhere in the tables that could leak a secret. */
export async function allStoredText(t: CT): Promise<string> {
  return await t.run(async (ctx) => {
    const tables = [
      "invocationLog",
      "securityEvents",
      "auditLog",
      "activityLog",
      "skillRegistry",
      "invocationSummary",
      "notifications",
    ] as const;
    const parts: string[] = [];
    for (const name of tables) parts.push(JSON.stringify(await ctx.db.query(name as any).take(5000)));
    return parts.join("\n");
  });
}
