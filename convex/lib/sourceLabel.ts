/**
 * Human labels for security-event source keys (pure; used by the server and SyncBoard).
 * `ip:203.0.113.0/24~3fa9c2d1` → "203.0.113.0/24 (#3fa9)"; `owner:…` → "owner account"; rate-limit
 * sources like `chat/send` → "public chat: send". The full key stays available as a tooltip.
 */
const PLACES: Record<string, string> = {
  "chat/send": "public chat: send",
  "chat/session": "public chat: new session",
  "chat/thread": "public chat: new conversation",
  "voice/start": "voice: start",
  "voice/transcript": "voice: transcript",
  rotation: "key rotation job",
};

export function ipLabel(pseudonym: string): string {
  const [net, tag] = pseudonym.split("~");
  return tag ? `${net} (#${tag.slice(0, 4)})` : net;
}

export function sourceLabel(source: string): { kind: string; label: string } {
  if (PLACES[source]) return { kind: "place", label: PLACES[source] };
  const i = source.indexOf(":");
  if (i < 0) return { kind: "other", label: source.replace(/[-_]/g, " ") };
  const prefix = source.slice(0, i);
  const rest = source.slice(i + 1);
  switch (prefix) {
    case "ip":
      return {
        kind: "ip",
        label: rest === "unknown" ? "unknown address" : rest === "invalid" ? "invalid address" : ipLabel(rest),
      };
    case "owner":
      return { kind: "owner", label: "owner account" };
    case "channelUser":
      return { kind: "channel-user", label: "channel sender" };
    case "mcpClient":
    case "mcp-client":
      return { kind: "mcp-token", label: "MCP client token" };
    case "agent":
      return { kind: "conversation", label: "agent in a conversation" };
    case "mcpServer":
      return { kind: "mcp-server", label: "MCP server" };
    case "channel-webhook":
      return { kind: "channel", label: "channel sender (pseudonymous)" };
    default:
      return { kind: prefix, label: prefix.replace(/[-_]/g, " ") };
  }
}
