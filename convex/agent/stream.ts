/**
 * Streamed replies: the running agent (agent/run.ts) writes the text generated so far into its
 * pending assistant message, throttled by agent/partialWriter.ts. The status becomes `streaming`;
 * agent/context:finish writes the final text (status done/error) as before. The lease fields stay
 * as they are, so the sweeper (agent/runs) still recovers a run that crashed mid-stream.
 */
import { v } from "convex/values";
import { internalMutation } from "../_generated/server";

const MAX_PARTIAL_CHARS = 8_000;

/** false when the message is no longer being generated (finished, failed or not claimed): stop writing. */
export const partial = internalMutation({
  args: { assistantMessageId: v.id("messages"), text: v.string() },
  returns: v.boolean(),
  handler: async (ctx, { assistantMessageId, text }) => {
    const msg = await ctx.db.get("messages", assistantMessageId);
    if (!msg || msg.role !== "assistant" || !msg.running) return false;
    if (msg.status !== "pending" && msg.status !== "streaming") return false;
    await ctx.db.patch("messages", msg._id, { text: text.slice(0, MAX_PARTIAL_CHARS), status: "streaming" });
    return true;
  },
});
