import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

// Each job on its own schedule, away from the others.
const crons = cronJobs();

// Log retention: bounded, self-continuing batches (convex/logs/retention.ts).
crons.daily("log retention", { hourUTC: 3, minuteUTC: 17 }, internal.logs.retention.start, {});
// MCP server health: probe every enabled server, auto-disable after N failures (convex/mcp/outbound/health.ts).
crons.interval("mcp health", { minutes: 5 }, internal.mcp.outbound.health.checkAll, {});

// Invocation summaries: roll settled invocationLog rows into the hourly summary (logs/summaries.ts).
crons.interval("invocation summary rollup", { seconds: 30 }, internal.logs.summaries.rollupInvocations, {});
// Summary reconciliation: recounts the previous closed hour; sets totals, so reruns are harmless.
crons.hourly("summary reconcile", { minuteUTC: 7 }, internal.logs.summaries.reconcilePreviousHour, {});

// Tool approvals: undecided calls past their TTL get a refusal (convex/agency/approvals.ts).
crons.interval("tool approval expiry", { minutes: 1 }, internal.agency.approvals.expireDue, {});

// Durable delivery: expired leases of agent runs and channel replies are retried or failed visibly (agent/runs.ts, channels/delivery.ts).
crons.interval("agent run sweep", { seconds: 15 }, internal.agent.runs.sweepRuns, {});
crons.interval("reply delivery sweep", { seconds: 15 }, internal.channels.delivery.sweepOutbox, {});

// Code skills: a deployed catalogue that differs from the synced one is registered as pending (skills/codeSync.ts).
crons.interval("code skill catalogue", { minutes: 1 }, internal.skills.codeSync.check, {});

// Raw security-event values (operator opt-in, WARDEN_EVENTS_KEEP_RAW=1) are kept 7 days (security/edge.ts).
crons.hourly("raw security event purge", { minuteUTC: 41 }, internal.security.edge.purgeRawEvents, {});

export default crons;
