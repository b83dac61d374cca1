// @vitest-environment node
/**
 * Audit log lifetime and export (issue 17.6): its own retention setting (default 365 days, longer
 * than the operational logs' 30) and an admin-only, paginated export as JSON lines or CSV.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { DAY, HOUR } from "../../convex/lib/time";
import { CSV_HEADER, csvCell } from "../../convex/lib/auditExport";
import { expectCode, member, newT, type T } from "../harness";

afterEach(() => {
  vi.useRealTimers();
});

async function auditRows(
  t: T,
  ws: Id<"workspaces">,
  rows: Array<{ action: string; target?: string; age?: number; after?: unknown }>,
) {
  await t.run(async (ctx) => {
    let i = 0;
    for (const r of rows) {
      await ctx.db.insert("auditLog", {
        workspaceId: ws,
        actorLabel: "owner-a",
        action: r.action,
        target: r.target,
        after: r.after,
        at: Date.now() - (r.age ?? 0) * DAY - HOUR + i++,
      });
    }
  });
}

describe("audit log lifetime", () => {
  test("kept 365 days by default while operational logs go after 30; its own setting", async () => {
    vi.useFakeTimers();
    const t = newT();
    const a = await member(t, { workspace: "ws-a" });
    const b = await member(t, { workspace: "ws-b" });
    const list = await a.as.query(api.logs.retention.list, {});
    expect(list.find((r) => r.table === "auditLog")).toEqual({ table: "auditLog", days: 365, isDefault: true });
    expect(list.find((r) => r.table === "activityLog")).toEqual({ table: "activityLog", days: 30, isDefault: true });
    await b.as.mutation(api.logs.retention.set, { table: "auditLog", days: 60 });
    for (const m of [a, b]) {
      await auditRows(t, m.workspaceId, [
        { action: "age-10", age: 10 },
        { action: "age-100", age: 100 },
        { action: "age-400", age: 400 },
      ]);
      await t.run((ctx) =>
        ctx.db.insert("activityLog", {
          workspaceId: m.workspaceId,
          kind: "agent.reply",
          summary: "x",
          visibility: "private",
          at: Date.now() - 100 * DAY,
        }),
      );
    }
    await t.mutation(internal.logs.retention.start, {});
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const left = await t.run(async (ctx) => {
      const actions = async (ws: Id<"workspaces">) =>
        (
          await ctx.db
            .query("auditLog")
            .withIndex("by_workspace_at", (q) => q.eq("workspaceId", ws))
            .collect()
        )
          .map((r) => r.action)
          .filter((x) => x.startsWith("age-"));
      return {
        a: await actions(a.workspaceId),
        b: await actions(b.workspaceId),
        activity: (await ctx.db.query("activityLog").collect()).length,
      };
    });
    expect(left.a).toEqual(["age-100", "age-10"]);
    expect(left.b).toEqual(["age-10"]);
    expect(left.activity).toBe(0);
  });
});

describe("audit log export", () => {
  test("JSON lines and CSV, oldest first, paged; only this workspace; formula cells neutralised", async () => {
    const t = newT();
    const a = await member(t, { workspace: "ws-a", role: "admin" });
    const b = await member(t, { workspace: "ws-b" });
    await t.run(async (ctx) => {
      for (const r of await ctx.db.query("auditLog").collect()) await ctx.db.delete(r._id);
    });
    await auditRows(t, a.workspaceId, [
      { action: "skill.create", target: "s1", age: 3 },
      { action: "retention.set", target: "auditLog", age: 2, after: { days: 400 } },
      { action: "channel.update", target: '=HYPERLINK("http://evil")', age: 1 },
      { action: "owner.signin", target: 'a, b "quoted"' },
      { action: "skill.delete", target: "-1+2" },
    ]);
    await auditRows(t, b.workspaceId, [{ action: "other-workspace", target: "secret-b" }]);

    const pages = async (format: "jsonl" | "csv") => {
      const out: string[] = [];
      let cursor: string | null = null;
      let calls = 0;
      for (;;) {
        const r: any = await a.as.query(api.logs.browse.auditExport, {
          format,
          paginationOpts: { numItems: 2, cursor },
        });
        calls++;
        if (r.header) out.push(r.header);
        out.push(...r.page);
        if (r.isDone) break;
        cursor = r.continueCursor;
      }
      return { lines: out, calls };
    };
    const jsonl = await pages("jsonl");
    expect(jsonl.calls).toBeGreaterThanOrEqual(3);
    const parsed = jsonl.lines.map((l) => JSON.parse(l));
    expect(parsed.map((r) => r.action)).toEqual([
      "skill.create",
      "retention.set",
      "channel.update",
      "owner.signin",
      "skill.delete",
    ]);
    expect(parsed[1]).toMatchObject({ target: "auditLog", actor: "owner-a", after: { days: 400 } });
    expect(parsed[0].time).toMatch(/^\d{4}-\d\d-\d\dT/);

    const csv = await pages("csv");
    expect(csv.lines[0]).toBe(CSV_HEADER);
    expect(csv.lines.filter((l) => l === CSV_HEADER)).toHaveLength(1);
    expect(csv.lines).toHaveLength(6);
    expect(csv.lines[3]).toContain(`"'=HYPERLINK(""http://evil"")"`);
    expect(csv.lines[4]).toContain(`"a, b ""quoted"""`);
    expect(csv.lines[5]).toContain(",'-1+2,");
    expect(JSON.stringify([jsonl, csv])).not.toContain("secret-b");
    expect(csvCell("@SUM(A1)")).toBe("'@SUM(A1)");
    expect(csvCell({ days: 1 })).toBe(`"{""days"":1}"`);

    // admins and owners only
    const viewer = await member(t, { workspace: "ws-a", role: "viewer" });
    await expectCode(
      viewer.as.query(api.logs.browse.auditExport, { paginationOpts: { numItems: 10, cursor: null } }),
      "FORBIDDEN",
    );
    const own = await b.as.query(api.logs.browse.auditExport, { paginationOpts: { numItems: 10, cursor: null } });
    expect(own.page.join("\n")).toContain("secret-b");
    expect(own.page.join("\n")).not.toContain("skill.create");
  });
});
