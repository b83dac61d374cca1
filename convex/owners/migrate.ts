/**
 * Operator tier: link existing owners to Clerk users by verified email. Internal only: run by
 * `npm run owners -- migrate-clerk` (embedded runtime, over the operator socket) or `npx convex run`.
 * An owner's email is the one the operator set in the owners file (never one a workspace could write);
 * Clerk's side is a verified address. Links only one-to-one matches; anything ambiguous, conflicting
 * or inactive is reported and left alone. `apply: false` (the default) changes nothing. Idempotent.
 */
import { v } from "convex/values";
import { internalMutation } from "../_generated/server";
import type { Doc } from "../_generated/dataModel";
import { writeAudit } from "../audit/log";

export const MAX_USERS_PER_CALL = 200;

const outcome = v.union(
  v.literal("link"), // would link (dry run) / linked (apply)
  v.literal("already"), // this Clerk user is already linked to the owner
  v.literal("no_match"), // no owner has one of its verified emails
  v.literal("ambiguous"), // the email belongs to several owners, or several Clerk users share it
  v.literal("conflict"), // the matching owner is linked to another Clerk user
  v.literal("inactive"), // the matching owner is deactivated
);

export const linkClerkUsers = internalMutation({
  args: { users: v.array(v.object({ id: v.string(), emails: v.array(v.string()) })), apply: v.optional(v.boolean()) },
  returns: v.object({
    applied: v.boolean(),
    rows: v.array(
      v.object({
        clerkUserId: v.string(),
        ownerKey: v.union(v.string(), v.null()),
        email: v.union(v.string(), v.null()),
        outcome,
      }),
    ),
  }),
  handler: async (ctx, { users, apply }) => {
    if (users.length > MAX_USERS_PER_CALL) throw new Error(`at most ${MAX_USERS_PER_CALL} users per call`);
    // An address held by two Clerk users in this batch proves nothing about either.
    const holders = new Map<string, number>();
    for (const u of users)
      for (const e of new Set(u.emails.map((x) => x.trim().toLowerCase()))) holders.set(e, (holders.get(e) ?? 0) + 1);
    const rows = [];
    for (const u of users) {
      const emails = [...new Set(u.emails.map((x) => x.trim().toLowerCase()))].slice(0, 10);
      const linked = await ctx.db
        .query("owners")
        .withIndex("by_clerkUserId", (q) => q.eq("clerkUserId", u.id))
        .first();
      if (linked) {
        rows.push({
          clerkUserId: u.id,
          ownerKey: linked.ownerKey,
          email: linked.email ?? null,
          outcome: "already" as const,
        });
        continue;
      }
      const found = new Map<string, { owner: Doc<"owners">; email: string }>();
      let shared = false;
      for (const email of emails) {
        const owners = await ctx.db
          .query("owners")
          .withIndex("by_email", (q) => q.eq("email", email))
          .take(2);
        if (owners.length > 0 && (holders.get(email) ?? 0) > 1) shared = true;
        for (const o of owners) found.set(o._id, { owner: o, email });
      }
      const matches = [...found.values()];
      const first = matches[0];
      const row = (
        ownerKey: string | null,
        email: string | null,
        o: "link" | "no_match" | "ambiguous" | "conflict" | "inactive",
      ) => ({ clerkUserId: u.id, ownerKey, email, outcome: o });
      if (matches.length === 0) rows.push(row(null, null, "no_match"));
      else if (matches.length > 1 || shared) rows.push(row(null, first.email, "ambiguous"));
      else if (first.owner.clerkUserId && first.owner.clerkUserId !== u.id)
        rows.push(row(first.owner.ownerKey, first.email, "conflict"));
      else if (!first.owner.active) rows.push(row(first.owner.ownerKey, first.email, "inactive"));
      else {
        rows.push(row(first.owner.ownerKey, first.email, "link"));
        if (apply) {
          await ctx.db.patch("owners", first.owner._id, { clerkUserId: u.id, updatedAt: Date.now() });
          const ms = await ctx.db
            .query("memberships")
            .withIndex("by_owner", (q) => q.eq("ownerId", first.owner._id))
            .take(50);
          for (const m of ms) {
            await writeAudit(ctx, {
              workspaceId: m.workspaceId,
              actorLabel: "operator:migrate-clerk",
              action: "owner.clerkLinked",
              target: first.owner.ownerKey,
              after: { clerkUserId: u.id, email: first.email },
            });
          }
        }
      }
    }
    return { applied: !!apply, rows };
  },
});
