/** The MCP pages: upstream servers (list, detail, register) and the workspace's /mcp endpoint (client tokens, OAuth clients, connect snippets). */
export { McpPage } from "./McpPage";
export { McpServerDetail } from "./ServerDetail";
export { connectSnippets } from "./ConnectClients";
