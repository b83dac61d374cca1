/** What a /chat visitor may know about the agent they talk to: its name, nothing else. */
import { v } from "convex/values";
import { sessionQuery } from "../access/builders";
import { readConfig } from "../agent/configLib";

export const get = sessionQuery({
  args: {},
  returns: v.object({ name: v.string() }),
  handler: async (ctx) => {
    const cfg = await readConfig(ctx, ctx.session.workspaceId);
    return { name: cfg.name.trim().slice(0, 80) || "Assistant" };
  },
});
