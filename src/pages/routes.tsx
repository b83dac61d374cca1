import type { ReactNode } from "react";
import { Overview } from "./Overview";
import { AgentPage } from "./Agent";
import { ProvidersPage } from "./Providers";
import { NewSkill, SkillDetail, SkillsPage } from "./skills";
import { McpPage, McpServerDetail } from "./mcp";
import { OAuthConsentPage } from "./OAuthConsent";
import { ChannelsPage } from "./Channels";
import { LimitsPage } from "./Limits";
import { OwnersPage } from "./Owners";
import { AccountPage } from "./Account";
import { ActivityPage } from "./Activity";
import { InvocationLogPage } from "./logs/InvocationLog";
import { SecurityLogPage } from "./logs/SecurityLog";
import { AuditLogPage } from "./logs/AuditLog";
import { ConversationListPage } from "./logs/ConversationList";
import { RetentionPage } from "./Retention";
import { ConversationDetail } from "./Conversations";
import { ToolAccessPage } from "./ToolAccess";
import { ApprovalsPage } from "./Approvals";
import { RunnersPage } from "./Runners";

/** `badge: "approvals"` shows the pending-approval count next to the item. */
export const NAV: { title: string; items: { to: string; label: string; badge?: "approvals" }[] }[] = [
  {
    title: "Monitor",
    items: [
      { to: "/", label: "Overview" },
      { to: "/approvals", label: "Approvals", badge: "approvals" },
      { to: "/activity", label: "Activity" },
      { to: "/conversations", label: "Conversations" },
      { to: "/logs/invocations", label: "Invocation log" },
      { to: "/logs/security", label: "Security events" },
      { to: "/logs/audit", label: "Audit log" },
    ],
  },
  {
    title: "Agent",
    items: [
      { to: "/agent", label: "Agent" },
      { to: "/providers", label: "Model providers" },
      { to: "/skills", label: "Skills" },
      { to: "/mcp", label: "MCP servers" },
      { to: "/channels", label: "Channels" },
      { to: "/tool-access", label: "Tool access" },
    ],
  },
  {
    title: "Settings",
    items: [
      { to: "/limits", label: "Rate limits" },
      { to: "/owners", label: "Owners & roles" },
      { to: "/account", label: "Your account" },
      { to: "/runners", label: "Runners" },
      { to: "/retention", label: "Retention" },
    ],
  },
];

export const routes: { path: string; render: (p: Record<string, string>) => ReactNode }[] = [
  { path: "/", render: () => <Overview /> },
  { path: "/agent", render: () => <AgentPage /> },
  { path: "/providers", render: () => <ProvidersPage /> },
  { path: "/skills", render: () => <SkillsPage /> },
  { path: "/skills/new", render: () => <NewSkill /> },
  { path: "/skills/:id", render: (p) => <SkillDetail id={p.id} key={p.id} /> },
  { path: "/mcp", render: () => <McpPage /> },
  { path: "/mcp/:id", render: (p) => <McpServerDetail id={p.id} key={p.id} /> },
  { path: "/oauth/consent", render: () => <OAuthConsentPage /> },
  { path: "/channels", render: () => <ChannelsPage /> },
  { path: "/tool-access", render: () => <ToolAccessPage /> },
  { path: "/approvals", render: () => <ApprovalsPage /> },
  { path: "/limits", render: () => <LimitsPage /> },
  { path: "/owners", render: () => <OwnersPage /> },
  { path: "/account", render: () => <AccountPage /> },
  { path: "/runners", render: () => <RunnersPage /> },
  { path: "/activity", render: () => <ActivityPage /> },
  { path: "/conversations", render: () => <ConversationListPage /> },
  { path: "/conversations/:id", render: (p) => <ConversationDetail id={p.id} key={p.id} /> },
  { path: "/logs/invocations", render: () => <InvocationLogPage /> },
  { path: "/logs/security", render: () => <SecurityLogPage /> },
  { path: "/logs/audit", render: () => <AuditLogPage /> },
  { path: "/retention", render: () => <RetentionPage /> },
];
