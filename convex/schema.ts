import { defineSchema } from "convex/server";
import { workspaceTables } from "./workspaces/tables";
import { ownerTables } from "./owners/tables";
import { auditTables } from "./audit/tables";
import { securityTables } from "./security/tables";
import { skillTables } from "./skills/tables";
import { secretTables } from "./secrets/tables";
import { mcpTables } from "./mcp/tables";
import { upstreamAuthTables } from "./mcp/upstreamAuthTables";
import { channelTables } from "./channels/tables";
import { chatTables } from "./chat/tables";
import { agentTables } from "./agent/tables";
import { limitTables } from "./limits/tables";
import { agencyTables } from "./agency/tables";
import { runnerTables } from "./runners/tables";
import { voiceTables } from "./voice/tables";
import { notificationTables } from "./notifications/tables";
import { logTables } from "./logs/tables";

export default defineSchema({
  ...workspaceTables,
  ...ownerTables,
  ...auditTables,
  ...securityTables,
  ...skillTables,
  ...secretTables,
  ...mcpTables,
  ...upstreamAuthTables,
  ...channelTables,
  ...chatTables,
  ...agentTables,
  ...limitTables,
  ...agencyTables,
  ...runnerTables,
  ...voiceTables,
  ...notificationTables,
  ...logTables,
});
