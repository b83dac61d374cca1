/** How to connect an MCP client: endpoint and copy-ready config snippets. */
import { api } from "../../../convex/_generated/api";
import { useLoad } from "../../lib/data";
import { Card, CopyButton, InlineError, Loading, Notice } from "../../ui/kit";

/** Copyable configuration for the usual MCP clients (README: "Connecting MCP clients"). */
export function connectSnippets(mcpUrl: string) {
  return [
    {
      id: "claude-ai",
      title: "claude.ai (and Claude Desktop / mobile)",
      how: "Settings → Connectors → Add custom connector, paste the URL, then Connect: you land on this SyncBoard to approve. The URL must be reachable from the internet over https.",
      text: mcpUrl,
    },
    {
      id: "claude-code",
      title: "Claude Code",
      how: "Run once, then /mcp in Claude Code → warden → Authenticate (opens the consent page).",
      text: `claude mcp add --transport http warden ${mcpUrl}`,
    },
    {
      id: "vscode",
      title: "VS Code (.vscode/mcp.json)",
      how: "Start the server from the file or the MCP view; VS Code opens the consent page.",
      text: JSON.stringify({ servers: { warden: { type: "http", url: mcpUrl } } }, null, 2),
    },
    {
      id: "cursor",
      title: "Cursor (~/.cursor/mcp.json)",
      how: "With a static client token (below) in the WARDEN_MCP_TOKEN environment variable. Cursor's own OAuth callback may use a custom scheme, which Warden's registration refuses (https or loopback only).",
      text: JSON.stringify(
        { mcpServers: { warden: { url: mcpUrl, headers: { Authorization: "Bearer ${env:WARDEN_MCP_TOKEN}" } } } },
        null,
        2,
      ),
    },
  ];
}

export function ConnectClients() {
  const info = useLoad(api.mcp.inbound.oauth.connectInfo, {});
  return (
    <Card title="Connect an MCP client">
      <p className="small muted">
        Clients that speak OAuth need only the URL: they register themselves, send you to a consent page here where an
        owner picks the tools, and get short-lived tokens bound to this server. Clients that take a header use a static
        client token instead.
      </p>
      {info.status === "loading" ? <Loading /> : null}
      {info.status === "error" ? <InlineError error={info.error} /> : null}
      {info.status === "ok" && !info.data.mcpUrl ? (
        <Notice tone="warn">Set WARDEN_PUBLIC_BASE_URL on the server first.</Notice>
      ) : null}
      {info.status === "ok" && info.data.mcpUrl
        ? connectSnippets(info.data.mcpUrl).map((s) => (
            <div key={s.id} className="mb2" data-testid={`snippet-${s.id}`}>
              <h3>{s.title}</h3>
              <p className="small muted">{s.how}</p>
              <div className="row">
                <pre className="token-box grow mono small">{s.text}</pre>
                <CopyButton text={s.text} label={`Copy ${s.title}`} />
              </div>
            </div>
          ))
        : null}
    </Card>
  );
}
