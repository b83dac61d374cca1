/** An MCP server's health as a badge. */
import { Badge } from "../../ui/kit";

export function healthBadge(h: string) {
  return <Badge tone={h === "healthy" ? "ok" : h === "unhealthy" ? "danger" : "neutral"}>{h}</Badge>;
}
