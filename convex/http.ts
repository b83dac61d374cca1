import { httpRouter } from "convex/server";
import { mount } from "./routes";
import { health } from "./health";
import { signIn, refresh, switchWorkspace, jwks } from "./owners/routes";
import { setPassword } from "./owners/password";
import { status } from "./auth/routes";
import { channelRoutes } from "./channels/routes";
import { chatRoutes } from "./chat/routes";
import { mcpRoutes } from "./mcp/inbound/server";
import { oauthRoutes } from "./mcp/inbound/oauthRoutes";
import { upstreamAuthRoutes } from "./mcp/outbound/upstreamAuthRoutes";
import { appSandboxRoutes } from "./mcp/inbound/appSandbox";
import { runnerRoutes } from "./runners/routes";

const http = httpRouter();

mount(http, [
  { path: "/health", method: "GET", handler: health },
  { path: "/.well-known/jwks.json", method: "GET", handler: jwks },
  { path: "/auth/signin", method: "POST", handler: signIn },
  { path: "/auth/refresh", method: "POST", handler: refresh },
  { path: "/auth/switch", method: "POST", handler: switchWorkspace },
  { path: "/auth/set-password", method: "POST", handler: setPassword },
  { path: "/auth/status", method: "GET", handler: status },
  ...channelRoutes,
  ...chatRoutes,
  ...mcpRoutes,
  ...oauthRoutes,
  ...upstreamAuthRoutes,
  ...appSandboxRoutes,
  ...runnerRoutes,
]);

export default http;
