import { convexTest } from "convex-test";
import rateLimiterTest from "@convex-dev/rate-limiter/test";
import schema from "../convex/schema";
import { modules } from "../convex/test.setup";
import type { Id } from "../convex/_generated/dataModel";
import { TEST_ENV } from "./env";

export function newT() {
  const t = convexTest(schema, modules);
  rateLimiterTest.register(t);
  return t;
}
export type T = ReturnType<typeof newT>;

/** A fake but valid-looking PBKDF2 hash; tests that sign in use real hashes. */
export const DUMMY_HASH = `pbkdf2_sha256$600000$${btoa("0123456789abcdef")}$${btoa("0123456789abcdef0123456789abcdef")}`;

/** Creates a workspace (or reuses one by slug) and an owner with `role` in it; returns a client acting as them. */
export async function member(
  t: T,
  opts: {
    role?: "owner" | "admin" | "viewer";
    workspace?: string;
    ownerKey?: string;
    active?: boolean;
    passwordHash?: string;
  } = {},
) {
  const role = opts.role ?? "owner";
  const slug = opts.workspace ?? "ws-a";
  const ownerKey = opts.ownerKey ?? `${role}-${slug}-${Math.random().toString(36).slice(2, 8)}`;
  const ids = await t.run(async (ctx) => {
    let ws = await ctx.db
      .query("workspaces")
      .withIndex("by_slug", (q) => q.eq("slug", slug))
      .unique();
    const workspaceId: Id<"workspaces"> =
      ws?._id ?? (await ctx.db.insert("workspaces", { name: slug, slug, createdAt: Date.now() }));
    ws = await ctx.db.get(workspaceId);
    const ownerId = await ctx.db.insert("owners", {
      ownerKey,
      passwordHash: opts.passwordHash ?? DUMMY_HASH,
      active: opts.active ?? true,
      createdAt: Date.now(),
      updatedAt: Date.now(),
    });
    await ctx.db.insert("memberships", { ownerId, workspaceId, role, createdAt: Date.now() });
    return { workspaceId, ownerId };
  });
  const as = t.withIdentity({
    issuer: TEST_ENV.WARDEN_AUTH_ISSUER,
    subject: ids.ownerId,
    tokenIdentifier: `${TEST_ENV.WARDEN_AUTH_ISSUER}|${ids.ownerId}`,
    wid: ids.workspaceId,
  } as any);
  return { ...ids, ownerKey, as };
}

/** Asserts a promise rejects with a ConvexError carrying `code`. */
export async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e: any) {
    const got = e?.data?.code ?? (typeof e?.data === "string" ? safeParse(e.data)?.code : undefined);
    if (got !== code) throw new Error(`expected ${code}, got ${got ?? e?.message}`);
    return;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}
function safeParse(s: string) {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
