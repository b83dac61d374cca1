import { v } from "convex/values";
import { internalQuery } from "../_generated/server";
import { resolvePrincipal } from "./principal";

/** Used by action builders: actions have no db, so membership is resolved in a query. */
export const principal = internalQuery({
  args: { min: v.union(v.literal("owner"), v.literal("admin"), v.literal("viewer")) },
  handler: async (ctx, { min }) => resolvePrincipal(ctx, min),
});
