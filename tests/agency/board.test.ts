// @vitest-environment node
/** SyncBoard reads for the agency boundary: pending count, sender policies, sender trust — scoped and role-checked. */
import { describe, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import { expectCode, member, newT } from "../harness";
import { setupChannel } from "../channels/helpers";

describe("agency/board", () => {
  test("sender policies and trust are read per workspace; another workspace's channel is refused", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    await ch.as.mutation(api.agency.pairing.setSenderPolicy, { channelId: ch.channelId, policy: "pairing" });
    const userId = await t.run((ctx) =>
      ctx.db.insert("channelUsers", {
        workspaceId: ch.workspaceId,
        channelId: ch.channelId,
        platform: "telegram",
        platformUserId: "4242",
        blocked: false,
        firstSeenAt: 1,
        lastSeenAt: 1,
        trust: "owner",
        linkedOwnerId: ch.ownerId,
      }),
    );
    const viewer = await member(t, { workspace: "ws-a", role: "viewer" });
    expect(await viewer.as.query(api.agency.board.senderPolicies, {})).toEqual([
      { channelId: ch.channelId, policy: "pairing" },
    ]);
    expect(await viewer.as.query(api.agency.board.senderTrust, { channelId: ch.channelId })).toEqual([
      { channelUserId: userId, trust: "owner", linkedToYou: false },
    ]);
    expect(await ch.as.query(api.agency.board.senderTrust, { channelId: ch.channelId })).toEqual([
      { channelUserId: userId, trust: "owner", linkedToYou: true },
    ]);
    const stranger = await member(t, { workspace: "ws-b", role: "owner" });
    await expectCode(stranger.as.query(api.agency.board.senderTrust, { channelId: ch.channelId }), "FORBIDDEN");
    expect(await stranger.as.query(api.agency.board.senderPolicies, {})).toEqual([]);
  });

  test("the pending count is for admins and owners of the workspace", async () => {
    const t = newT();
    const ch = await setupChannel(t, "telegram");
    const viewer = await member(t, { workspace: "ws-a", role: "viewer" });
    await expectCode(viewer.as.query(api.agency.board.pendingCount, {}), "FORBIDDEN");
    expect(await ch.as.query(api.agency.board.pendingCount, {})).toEqual({ count: 0, more: false });
  });
});
