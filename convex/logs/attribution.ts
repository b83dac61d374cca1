/**
 * Who and where, for log rows: turns a caller (kind + id) or a security-event source key into a
 * human name, the workspace object it belongs to (a link in SyncBoard) and, for abuse, the action
 * the server already has for it (revoke an MCP token, block a channel sender, block a chat session).
 * Every lookup is a point read (ctx.db.get) of an object of the caller's workspace; an id from
 * another workspace resolves to nothing. A Resolver caches per call, so a page of rows costs at most
 * a few reads per distinct caller.
 */
import { v, type Infer } from "convex/values";
import type { QueryCtx } from "../_generated/server";
import type { Doc, Id, TableNames } from "../_generated/dataModel";
import { sourceLabel } from "../lib/sourceLabel";
import { ADAPTERS, PLATFORMS } from "../channels/platforms/index";

export const actionValidator = v.union(
  v.object({ kind: v.literal("revokeToken"), tokenId: v.id("mcpClientTokens"), revoked: v.boolean() }),
  v.object({ kind: v.literal("blockSender"), channelUserId: v.id("channelUsers"), blocked: v.boolean() }),
  v.object({ kind: v.literal("blockSession"), sessionId: v.id("chatSessions"), blocked: v.boolean() }),
);

export const whoValidator = v.object({
  /** what kind of principal or place: "mcp-token", "channel-user", "chat-session", "owner", "ip", "conversation", … */
  kind: v.string(),
  /** human name shown in the row */
  label: v.string(),
  /** the raw key (tooltip), never an internal document id alone */
  key: v.optional(v.string()),
  /** a SyncBoard path for the object */
  link: v.optional(v.string()),
  action: v.optional(actionValidator),
});
export type Who = Infer<typeof whoValidator>;
type Action = Infer<typeof actionValidator>;

const PLATFORM: Record<string, string> = Object.fromEntries(PLATFORMS.map((p) => [p, ADAPTERS[p].senderLabel]));

const OBJECT_NAMES: Record<string, string> = {
  channelConfig: "a channel",
  channelUsers: "a channel sender",
  skillRegistry: "a skill",
  mcpServers: "an MCP server",
  modelProviders: "a model provider",
  mcpClientTokens: "an MCP client token",
  threads: "a conversation",
  chatSessions: "a web visitor",
  agentConfig: "the agent settings",
  workspaces: "a workspace",
};

export class Resolver {
  private cache = new Map<string, Promise<unknown>>();
  constructor(
    private ctx: QueryCtx,
    private ws: Id<"workspaces">,
  ) {}

  /** A document of this workspace by a string id, or null (unknown table, other workspace, deleted). */
  private get<T extends TableNames>(table: T, id: string | undefined): Promise<Doc<T> | null> {
    if (!id) return Promise.resolve(null);
    const k = `${table}:${id}`;
    let p = this.cache.get(k) as Promise<Doc<T> | null> | undefined;
    if (!p) {
      p = (async () => {
        const nid = this.ctx.db.normalizeId(table, id);
        if (!nid) return null;
        const d = (await this.ctx.db.get(table, nid)) as (Doc<T> & { workspaceId?: Id<"workspaces"> }) | null;
        if (!d) return null;
        if (table !== "owners" && d.workspaceId !== this.ws) return null;
        return d;
      })();
      this.cache.set(k, p);
    }
    return p;
  }

  async channelName(channelId: string | undefined): Promise<string | null> {
    const c = await this.get("channelConfig", channelId);
    return c ? `${c.name} (${PLATFORM[c.platform] ?? c.platform})` : null;
  }

  async channelUser(id: string | undefined, key?: string): Promise<Who | null> {
    const u = await this.get("channelUsers", id);
    if (!u) return null;
    const channel = await this.channelName(u.channelId);
    const name = u.displayName?.trim() || "unnamed sender";
    void key;
    return {
      kind: "channel-user",
      label: `${name} · ${channel ?? PLATFORM[u.platform] ?? u.platform}`,
      key: `${PLATFORM[u.platform] ?? u.platform} sender, first seen ${new Date(u.firstSeenAt).toISOString().slice(0, 10)}`,
      link: `/conversations?caller=${encodeURIComponent(`channelUser:${u._id}`)}`,
      action: { kind: "blockSender", channelUserId: u._id, blocked: u.blocked },
    };
  }

  async session(id: string | undefined, key?: string): Promise<Who | null> {
    const s = await this.get("chatSessions", id);
    if (!s) return null;
    void key;
    return {
      kind: "chat-session",
      label: `web visitor #${s._id.slice(-4)}`,
      key: `web chat session started ${new Date(s.createdAt).toISOString().slice(0, 16).replace("T", " ")} UTC`,
      link: `/conversations?caller=${encodeURIComponent(`session:${s._id}`)}`,
      action: { kind: "blockSession", sessionId: s._id, blocked: s.blocked === true },
    };
  }

  async token(id: string | undefined, _key?: string): Promise<Who | null> {
    const t = await this.get("mcpClientTokens", id);
    if (!t) return null;
    return {
      kind: "mcp-token",
      label: `MCP client “${t.name}”`,
      // the token's visible prefix (as on the MCP page), not its document id
      key: `token ${t.prefix}…`,
      link: "/mcp#client-tokens",
      action: { kind: "revokeToken", tokenId: t._id, revoked: t.revokedAt !== undefined },
    };
  }

  async owner(id: string | undefined, _key?: string): Promise<Who | null> {
    const o = await this.get("owners", id);
    if (!o) return null;
    return { kind: "owner", label: o.displayName?.trim() || o.ownerKey, key: o.ownerKey };
  }

  /** A conversation: its title, and who is on the other end (web visitor or channel sender). */
  async thread(id: string | undefined, _key?: string): Promise<Who | null> {
    const t = await this.get("threads", id);
    if (!t) return null;
    const person = t.channelUserId
      ? await this.channelUser(t.channelUserId)
      : t.sessionId
        ? await this.session(t.sessionId)
        : null;
    const title = t.title?.trim() || "Untitled conversation";
    return {
      kind: "conversation",
      label: person ? `${person.label} in “${title}”` : `“${title}”`,
      key: person?.key,
      link: `/conversations/${t._id}`,
      action: person?.action,
    };
  }

  /**
   * An audit target: a document id of this workspace becomes the object's name (and link), an
   * `ip:` key its label; anything else is shown as written.
   */
  async object(target: string): Promise<Who> {
    if (!target) return { kind: "none", label: "—" };
    if (target.startsWith("ip:"))
      return {
        kind: "ip",
        label: sourceLabel(target).label,
        key: target,
        link: `/logs/security?source=${encodeURIComponent(target)}`,
      };
    const named = async (): Promise<Who | null> => {
      const c = await this.get("channelConfig", target);
      if (c) return { kind: "channel", label: `channel “${c.name}”`, link: "/channels" };
      const u = await this.channelUser(target);
      if (u) return u;
      const sk = await this.get("skillRegistry", target);
      if (sk) return { kind: "skill", label: `skill “${sk.name}”`, link: `/skills/${sk._id}` };
      const m = await this.get("mcpServers", target);
      if (m) return { kind: "mcp-server", label: `MCP server “${m.name}”`, link: `/mcp/${m._id}` };
      const p = await this.get("modelProviders", target);
      if (p) return { kind: "provider", label: `model provider “${p.label}”`, link: "/providers" };
      const tok = await this.token(target);
      if (tok) return tok;
      const th = await this.thread(target);
      if (th) return th;
      const se = await this.session(target);
      if (se) return se;
      return null;
    };
    const w = await named();
    if (w) return { ...w, key: target };
    // An id of an object that is gone (or another kind): say so rather than print the id.
    for (const t of [
      "channelConfig",
      "channelUsers",
      "skillRegistry",
      "mcpServers",
      "modelProviders",
      "mcpClientTokens",
      "threads",
      "chatSessions",
      "agentConfig",
      "workspaces",
    ] as const) {
      if (this.ctx.db.normalizeId(t, target))
        return { kind: t, label: `${OBJECT_NAMES[t]} (deleted or elsewhere)`, key: target };
    }
    return { kind: "text", label: target };
  }

  /** An invocation's caller. */
  async caller(callerKind: string, callerId: string | undefined, channelId?: string): Promise<Who> {
    // Fallback tooltips name the caller kind only: a bare document id means nothing to an owner.
    const key = callerKind;
    switch (callerKind) {
      case "agent": {
        const t = await this.thread(callerId, key);
        if (t) return { ...t, label: `Agent for ${t.label}` };
        return { kind: "agent", label: "Agent", key };
      }
      case "mcp-client":
        return (await this.token(callerId, key)) ?? { kind: "mcp-token", label: "MCP client (token deleted)", key };
      case "owner":
        return (await this.owner(callerId, key)) ?? { kind: "owner", label: "Owner", key };
      case "owner-test": {
        // SyncBoard's "Test this skill" panel (skills/test.ts)
        const o = await this.owner(callerId, key);
        return { kind: "owner-test", label: `Test by ${o?.label ?? "an owner"}`, key };
      }
      case "channel-webhook": {
        const ch = await this.channelName(channelId);
        return { kind: "channel", label: ch ? `${ch} webhook` : "Channel webhook", key, link: "/channels" };
      }
      default:
        return { kind: callerKind, label: callerKind.replace(/[-_]/g, " "), key };
    }
  }

  /** A security event's source key (`ip:…`, `channelUser:…`, `mcpClient:…`, `agent:…`, …). */
  async source(source: string | undefined): Promise<Who> {
    if (!source) return { kind: "unknown", label: "unknown source" };
    const link = `/logs/security?source=${encodeURIComponent(source)}`;
    const base = sourceLabel(source);
    const i = source.indexOf(":");
    const prefix = i < 0 ? source : source.slice(0, i);
    const rest = i < 0 ? "" : source.slice(i + 1);
    let who: Who | null = null;
    if (prefix === "channelUser") who = await this.channelUser(rest, source);
    else if (prefix === "mcpClient" || prefix === "mcp-client") who = await this.token(rest, source);
    else if (prefix === "agent") who = await this.thread(rest, source);
    else if (prefix === "session" || prefix === "chatSession") who = await this.session(rest, source);
    else if (prefix === "owner")
      who = (await this.owner(rest, source)) ?? { kind: "owner", label: base.label, key: source };
    else if (prefix === "mcpServer") {
      const s = await this.get("mcpServers", rest);
      who = s ? { kind: "mcp-server", label: `MCP server “${s.name}”`, key: source } : null;
    }
    const out = who ?? { kind: base.kind, label: base.label, key: source };
    // The row links to the source's other events; the object itself (conversation, token) is `link` in the UI's "object" column.
    return { ...out, link, objectLink: who?.link } as Who & { objectLink?: string };
  }
}

export const sourceWhoValidator = v.object({ ...whoValidator.fields, objectLink: v.optional(v.string()) });
export type { Action };
