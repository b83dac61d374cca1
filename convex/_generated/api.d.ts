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
import type * as agent_tables from "../agent/tables.js";
import type * as audit_log from "../audit/log.js";
import type * as audit_tables from "../audit/tables.js";
import type * as auth_routes from "../auth/routes.js";
import type * as auth_status from "../auth/status.js";
import type * as channels_tables from "../channels/tables.js";
import type * as channels_verify from "../channels/verify.js";
import type * as chat_tables from "../chat/tables.js";
import type * as crons from "../crons.js";
import type * as health from "../health.js";
import type * as http from "../http.js";
import type * as lib_abuse from "../lib/abuse.js";
import type * as lib_authMode from "../lib/authMode.js";
import type * as lib_codes from "../lib/codes.js";
import type * as lib_egress from "../lib/egress.js";
import type * as lib_httpSecurity from "../lib/httpSecurity.js";
import type * as lib_limitsCatalog from "../lib/limitsCatalog.js";
import type * as lib_ownerJwt from "../lib/ownerJwt.js";
import type * as lib_ownersFile from "../lib/ownersFile.js";
import type * as lib_password from "../lib/password.js";
import type * as lib_redact from "../lib/redact.js";
import type * as lib_secretbox from "../lib/secretbox.js";
import type * as lib_time from "../lib/time.js";
import type * as lib_tokens from "../lib/tokens.js";
import type * as lib_urlTemplate from "../lib/urlTemplate.js";
import type * as lib_webhookCrypto from "../lib/webhookCrypto.js";
import type * as limits_enforce from "../limits/enforce.js";
import type * as limits_tables from "../limits/tables.js";
import type * as logs_browse from "../logs/browse.js";
import type * as logs_dashboard from "../logs/dashboard.js";
import type * as logs_retention from "../logs/retention.js";
import type * as mcp_tables from "../mcp/tables.js";
import type * as owners_admin from "../owners/admin.js";
import type * as owners_manage from "../owners/manage.js";
import type * as owners_routes from "../owners/routes.js";
import type * as owners_session from "../owners/session.js";
import type * as owners_signin from "../owners/signin.js";
import type * as owners_tables from "../owners/tables.js";
import type * as routes from "../routes.js";
import type * as secrets_access from "../secrets/access.js";
import type * as secrets_guard from "../secrets/guard.js";
import type * as secrets_manage from "../secrets/manage.js";
import type * as secrets_rotation from "../secrets/rotation.js";
import type * as secrets_store from "../secrets/store.js";
import type * as secrets_tables from "../secrets/tables.js";
import type * as security_events from "../security/events.js";
import type * as security_tables from "../security/tables.js";
import type * as skills_tables from "../skills/tables.js";
import type * as workspaces_lib from "../workspaces/lib.js";
import type * as workspaces_manage from "../workspaces/manage.js";
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
  "agent/tables": typeof agent_tables;
  "audit/log": typeof audit_log;
  "audit/tables": typeof audit_tables;
  "auth/routes": typeof auth_routes;
  "auth/status": typeof auth_status;
  "channels/tables": typeof channels_tables;
  "channels/verify": typeof channels_verify;
  "chat/tables": typeof chat_tables;
  crons: typeof crons;
  health: typeof health;
  http: typeof http;
  "lib/abuse": typeof lib_abuse;
  "lib/authMode": typeof lib_authMode;
  "lib/codes": typeof lib_codes;
  "lib/egress": typeof lib_egress;
  "lib/httpSecurity": typeof lib_httpSecurity;
  "lib/limitsCatalog": typeof lib_limitsCatalog;
  "lib/ownerJwt": typeof lib_ownerJwt;
  "lib/ownersFile": typeof lib_ownersFile;
  "lib/password": typeof lib_password;
  "lib/redact": typeof lib_redact;
  "lib/secretbox": typeof lib_secretbox;
  "lib/time": typeof lib_time;
  "lib/tokens": typeof lib_tokens;
  "lib/urlTemplate": typeof lib_urlTemplate;
  "lib/webhookCrypto": typeof lib_webhookCrypto;
  "limits/enforce": typeof limits_enforce;
  "limits/tables": typeof limits_tables;
  "logs/browse": typeof logs_browse;
  "logs/dashboard": typeof logs_dashboard;
  "logs/retention": typeof logs_retention;
  "mcp/tables": typeof mcp_tables;
  "owners/admin": typeof owners_admin;
  "owners/manage": typeof owners_manage;
  "owners/routes": typeof owners_routes;
  "owners/session": typeof owners_session;
  "owners/signin": typeof owners_signin;
  "owners/tables": typeof owners_tables;
  routes: typeof routes;
  "secrets/access": typeof secrets_access;
  "secrets/guard": typeof secrets_guard;
  "secrets/manage": typeof secrets_manage;
  "secrets/rotation": typeof secrets_rotation;
  "secrets/store": typeof secrets_store;
  "secrets/tables": typeof secrets_tables;
  "security/events": typeof security_events;
  "security/tables": typeof security_tables;
  "skills/tables": typeof skills_tables;
  "workspaces/lib": typeof workspaces_lib;
  "workspaces/manage": typeof workspaces_manage;
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
