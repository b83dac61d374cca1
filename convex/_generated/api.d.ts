/* eslint-disable */
/**
 * Generated `api` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type {
  ApiFromModules,
  FilterApi,
  FunctionReference,
} from "convex/server";
import type * as access_builders from "../access/builders.js";
import type * as access_classes from "../access/classes.js";
import type * as access_http from "../access/http.js";
import type * as access_internal from "../access/internal.js";
import type * as access_principal from "../access/principal.js";
import type * as agency_approvals from "../agency/approvals.js";
import type * as agency_board from "../agency/board.js";
import type * as agency_gate from "../agency/gate.js";
import type * as agency_grants from "../agency/grants.js";
import type * as agency_offered from "../agency/offered.js";
import type * as agency_pairing from "../agency/pairing.js";
import type * as agency_tables from "../agency/tables.js";
import type * as agent_activity from "../agent/activity.js";
import type * as agent_activityTemplates from "../agent/activityTemplates.js";
import type * as agent_config from "../agent/config.js";
import type * as agent_configLib from "../agent/configLib.js";
import type * as agent_context from "../agent/context.js";
import type * as agent_model from "../agent/model.js";
import type * as agent_prompt from "../agent/prompt.js";
import type * as agent_providerRules from "../agent/providerRules.js";
import type * as agent_providers from "../agent/providers.js";
import type * as agent_run from "../agent/run.js";
import type * as agent_tables from "../agent/tables.js";
import type * as audit_log from "../audit/log.js";
import type * as audit_tables from "../audit/tables.js";
import type * as auth_routes from "../auth/routes.js";
import type * as auth_status from "../auth/status.js";
import type * as channels_delivery from "../channels/delivery.js";
import type * as channels_inbound from "../channels/inbound.js";
import type * as channels_manage from "../channels/manage.js";
import type * as channels_payloads from "../channels/payloads.js";
import type * as channels_platforms from "../channels/platforms.js";
import type * as channels_replies from "../channels/replies.js";
import type * as channels_routes from "../channels/routes.js";
import type * as channels_tables from "../channels/tables.js";
import type * as channels_users from "../channels/users.js";
import type * as channels_vendors from "../channels/vendors.js";
import type * as channels_verify from "../channels/verify.js";
import type * as chat_owner from "../chat/owner.js";
import type * as chat_routes from "../chat/routes.js";
import type * as chat_sessions from "../chat/sessions.js";
import type * as chat_tables from "../chat/tables.js";
import type * as chat_threads from "../chat/threads.js";
import type * as chat_turns from "../chat/turns.js";
import type * as crons from "../crons.js";
import type * as health from "../health.js";
import type * as http from "../http.js";
import type * as lib_abuse from "../lib/abuse.js";
import type * as lib_agency from "../lib/agency.js";
import type * as lib_auditExport from "../lib/auditExport.js";
import type * as lib_authMode from "../lib/authMode.js";
import type * as lib_clientIp from "../lib/clientIp.js";
import type * as lib_codes from "../lib/codes.js";
import type * as lib_egress from "../lib/egress.js";
import type * as lib_httpSecurity from "../lib/httpSecurity.js";
import type * as lib_idCap from "../lib/idCap.js";
import type * as lib_imageSniff from "../lib/imageSniff.js";
import type * as lib_jsonSchema from "../lib/jsonSchema.js";
import type * as lib_knownKeys from "../lib/knownKeys.js";
import type * as lib_limitsCatalog from "../lib/limitsCatalog.js";
import type * as lib_log from "../lib/log.js";
import type * as lib_offlineModel from "../lib/offlineModel.js";
import type * as lib_ownerJwt from "../lib/ownerJwt.js";
import type * as lib_ownersFile from "../lib/ownersFile.js";
import type * as lib_pagination from "../lib/pagination.js";
import type * as lib_password from "../lib/password.js";
import type * as lib_pseudonym from "../lib/pseudonym.js";
import type * as lib_redact from "../lib/redact.js";
import type * as lib_sanitize from "../lib/sanitize.js";
import type * as lib_secretbox from "../lib/secretbox.js";
import type * as lib_setPasswordCode from "../lib/setPasswordCode.js";
import type * as lib_time from "../lib/time.js";
import type * as lib_tokens from "../lib/tokens.js";
import type * as lib_urlTemplate from "../lib/urlTemplate.js";
import type * as lib_webhookCrypto from "../lib/webhookCrypto.js";
import type * as limits_enforce from "../limits/enforce.js";
import type * as limits_manage from "../limits/manage.js";
import type * as limits_tables from "../limits/tables.js";
import type * as logs_browse from "../logs/browse.js";
import type * as logs_dashboard from "../logs/dashboard.js";
import type * as logs_retention from "../logs/retention.js";
import type * as logs_summaries from "../logs/summaries.js";
import type * as mcp_appSandbox from "../mcp/appSandbox.js";
import type * as mcp_client from "../mcp/client.js";
import type * as mcp_health from "../mcp/health.js";
import type * as mcp_protocol from "../mcp/protocol.js";
import type * as mcp_server from "../mcp/server.js";
import type * as mcp_servers from "../mcp/servers.js";
import type * as mcp_sessions from "../mcp/sessions.js";
import type * as mcp_tables from "../mcp/tables.js";
import type * as mcp_tokens from "../mcp/tokens.js";
import type * as owners_admin from "../owners/admin.js";
import type * as owners_manage from "../owners/manage.js";
import type * as owners_password from "../owners/password.js";
import type * as owners_routes from "../owners/routes.js";
import type * as owners_session from "../owners/session.js";
import type * as owners_sessions from "../owners/sessions.js";
import type * as owners_signin from "../owners/signin.js";
import type * as owners_tables from "../owners/tables.js";
import type * as privacy_cascade from "../privacy/cascade.js";
import type * as privacy_erasure from "../privacy/erasure.js";
import type * as privacy_export from "../privacy/export.js";
import type * as privacy_retention from "../privacy/retention.js";
import type * as routes from "../routes.js";
import type * as secrets_access from "../secrets/access.js";
import type * as secrets_guard from "../secrets/guard.js";
import type * as secrets_manage from "../secrets/manage.js";
import type * as secrets_rotation from "../secrets/rotation.js";
import type * as secrets_store from "../secrets/store.js";
import type * as secrets_tables from "../secrets/tables.js";
import type * as security_checker from "../security/checker.js";
import type * as security_checkerLog from "../security/checkerLog.js";
import type * as security_edge from "../security/edge.js";
import type * as security_events from "../security/events.js";
import type * as security_tables from "../security/tables.js";
import type * as skills_code_githubRepoInfo from "../skills/code/githubRepoInfo.js";
import type * as skills_code_index from "../skills/code/index.js";
import type * as skills_code_types from "../skills/code/types.js";
import type * as skills_code_wordCount from "../skills/code/wordCount.js";
import type * as skills_codeHash from "../skills/codeHash.js";
import type * as skills_codeSync from "../skills/codeSync.js";
import type * as skills_execute from "../skills/execute.js";
import type * as skills_executeNode from "../skills/executeNode.js";
import type * as skills_hash from "../skills/hash.js";
import type * as skills_images from "../skills/images.js";
import type * as skills_lib_calc from "../skills/lib/calc.js";
import type * as skills_lib_feed from "../skills/lib/feed.js";
import type * as skills_lib_jsonPointer from "../skills/lib/jsonPointer.js";
import type * as skills_outcome from "../skills/outcome.js";
import type * as skills_registry from "../skills/registry.js";
import type * as skills_tables from "../skills/tables.js";
import type * as skills_templates from "../skills/templates.js";
import type * as skills_validate from "../skills/validate.js";
import type * as voice_elevenlabs from "../voice/elevenlabs.js";
import type * as voice_sessions from "../voice/sessions.js";
import type * as workspaces_jit from "../workspaces/jit.js";
import type * as workspaces_lib from "../workspaces/lib.js";
import type * as workspaces_manage from "../workspaces/manage.js";
import type * as workspaces_org from "../workspaces/org.js";
import type * as workspaces_tables from "../workspaces/tables.js";

/**
 * A utility for referencing Convex functions in your app's API.
 *
 * Usage:
 * ```js
 * const myFunctionReference = api.myModule.myFunction;
 * ```
 */
declare const fullApi: ApiFromModules<{
  "access/builders": typeof access_builders;
  "access/classes": typeof access_classes;
  "access/http": typeof access_http;
  "access/internal": typeof access_internal;
  "access/principal": typeof access_principal;
  "agency/approvals": typeof agency_approvals;
  "agency/board": typeof agency_board;
  "agency/gate": typeof agency_gate;
  "agency/grants": typeof agency_grants;
  "agency/offered": typeof agency_offered;
  "agency/pairing": typeof agency_pairing;
  "agency/tables": typeof agency_tables;
  "agent/activity": typeof agent_activity;
  "agent/activityTemplates": typeof agent_activityTemplates;
  "agent/config": typeof agent_config;
  "agent/configLib": typeof agent_configLib;
  "agent/context": typeof agent_context;
  "agent/model": typeof agent_model;
  "agent/prompt": typeof agent_prompt;
  "agent/providerRules": typeof agent_providerRules;
  "agent/providers": typeof agent_providers;
  "agent/run": typeof agent_run;
  "agent/tables": typeof agent_tables;
  "audit/log": typeof audit_log;
  "audit/tables": typeof audit_tables;
  "auth/routes": typeof auth_routes;
  "auth/status": typeof auth_status;
  "channels/delivery": typeof channels_delivery;
  "channels/inbound": typeof channels_inbound;
  "channels/manage": typeof channels_manage;
  "channels/payloads": typeof channels_payloads;
  "channels/platforms": typeof channels_platforms;
  "channels/replies": typeof channels_replies;
  "channels/routes": typeof channels_routes;
  "channels/tables": typeof channels_tables;
  "channels/users": typeof channels_users;
  "channels/vendors": typeof channels_vendors;
  "channels/verify": typeof channels_verify;
  "chat/owner": typeof chat_owner;
  "chat/routes": typeof chat_routes;
  "chat/sessions": typeof chat_sessions;
  "chat/tables": typeof chat_tables;
  "chat/threads": typeof chat_threads;
  "chat/turns": typeof chat_turns;
  crons: typeof crons;
  health: typeof health;
  http: typeof http;
  "lib/abuse": typeof lib_abuse;
  "lib/agency": typeof lib_agency;
  "lib/auditExport": typeof lib_auditExport;
  "lib/authMode": typeof lib_authMode;
  "lib/clientIp": typeof lib_clientIp;
  "lib/codes": typeof lib_codes;
  "lib/egress": typeof lib_egress;
  "lib/httpSecurity": typeof lib_httpSecurity;
  "lib/idCap": typeof lib_idCap;
  "lib/imageSniff": typeof lib_imageSniff;
  "lib/jsonSchema": typeof lib_jsonSchema;
  "lib/knownKeys": typeof lib_knownKeys;
  "lib/limitsCatalog": typeof lib_limitsCatalog;
  "lib/log": typeof lib_log;
  "lib/offlineModel": typeof lib_offlineModel;
  "lib/ownerJwt": typeof lib_ownerJwt;
  "lib/ownersFile": typeof lib_ownersFile;
  "lib/pagination": typeof lib_pagination;
  "lib/password": typeof lib_password;
  "lib/pseudonym": typeof lib_pseudonym;
  "lib/redact": typeof lib_redact;
  "lib/sanitize": typeof lib_sanitize;
  "lib/secretbox": typeof lib_secretbox;
  "lib/setPasswordCode": typeof lib_setPasswordCode;
  "lib/time": typeof lib_time;
  "lib/tokens": typeof lib_tokens;
  "lib/urlTemplate": typeof lib_urlTemplate;
  "lib/webhookCrypto": typeof lib_webhookCrypto;
  "limits/enforce": typeof limits_enforce;
  "limits/manage": typeof limits_manage;
  "limits/tables": typeof limits_tables;
  "logs/browse": typeof logs_browse;
  "logs/dashboard": typeof logs_dashboard;
  "logs/retention": typeof logs_retention;
  "logs/summaries": typeof logs_summaries;
  "mcp/appSandbox": typeof mcp_appSandbox;
  "mcp/client": typeof mcp_client;
  "mcp/health": typeof mcp_health;
  "mcp/protocol": typeof mcp_protocol;
  "mcp/server": typeof mcp_server;
  "mcp/servers": typeof mcp_servers;
  "mcp/sessions": typeof mcp_sessions;
  "mcp/tables": typeof mcp_tables;
  "mcp/tokens": typeof mcp_tokens;
  "owners/admin": typeof owners_admin;
  "owners/manage": typeof owners_manage;
  "owners/password": typeof owners_password;
  "owners/routes": typeof owners_routes;
  "owners/session": typeof owners_session;
  "owners/sessions": typeof owners_sessions;
  "owners/signin": typeof owners_signin;
  "owners/tables": typeof owners_tables;
  "privacy/cascade": typeof privacy_cascade;
  "privacy/erasure": typeof privacy_erasure;
  "privacy/export": typeof privacy_export;
  "privacy/retention": typeof privacy_retention;
  routes: typeof routes;
  "secrets/access": typeof secrets_access;
  "secrets/guard": typeof secrets_guard;
  "secrets/manage": typeof secrets_manage;
  "secrets/rotation": typeof secrets_rotation;
  "secrets/store": typeof secrets_store;
  "secrets/tables": typeof secrets_tables;
  "security/checker": typeof security_checker;
  "security/checkerLog": typeof security_checkerLog;
  "security/edge": typeof security_edge;
  "security/events": typeof security_events;
  "security/tables": typeof security_tables;
  "skills/code/githubRepoInfo": typeof skills_code_githubRepoInfo;
  "skills/code/index": typeof skills_code_index;
  "skills/code/types": typeof skills_code_types;
  "skills/code/wordCount": typeof skills_code_wordCount;
  "skills/codeHash": typeof skills_codeHash;
  "skills/codeSync": typeof skills_codeSync;
  "skills/execute": typeof skills_execute;
  "skills/executeNode": typeof skills_executeNode;
  "skills/hash": typeof skills_hash;
  "skills/images": typeof skills_images;
  "skills/lib/calc": typeof skills_lib_calc;
  "skills/lib/feed": typeof skills_lib_feed;
  "skills/lib/jsonPointer": typeof skills_lib_jsonPointer;
  "skills/outcome": typeof skills_outcome;
  "skills/registry": typeof skills_registry;
  "skills/tables": typeof skills_tables;
  "skills/templates": typeof skills_templates;
  "skills/validate": typeof skills_validate;
  "voice/elevenlabs": typeof voice_elevenlabs;
  "voice/sessions": typeof voice_sessions;
  "workspaces/jit": typeof workspaces_jit;
  "workspaces/lib": typeof workspaces_lib;
  "workspaces/manage": typeof workspaces_manage;
  "workspaces/org": typeof workspaces_org;
  "workspaces/tables": typeof workspaces_tables;
}>;
export declare const api: FilterApi<
  typeof fullApi,
  FunctionReference<any, "public">
>;
export declare const internal: FilterApi<
  typeof fullApi,
  FunctionReference<any, "internal">
>;

export declare const components: {
  rateLimiter: import("@convex-dev/rate-limiter/_generated/component.js").ComponentApi<"rateLimiter">;
};
