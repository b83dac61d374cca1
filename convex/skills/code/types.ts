/**
 * The contract for code-defined skills (type "code"). A module in this folder exports
 * `skillMeta` and `handler`, and is listed in ./index.ts. The handler gets only `tools`:
 * a fetch that goes through the same egress checks as webhook skills (allowlist = the domains
 * the owner approved for this skill), and the skill's own declared secrets.
 * Modules must not import anything else (tests/checker/codeSkills.test.ts enforces it).
 */

export type CodeSkillMeta = {
  /** Registry name (slug): lower-case letters, digits, `_`, `-`. */
  name: string;
  description: string;
  /** JSON schema of the input (object schema, no $-keywords). */
  inputSchema: Record<string, unknown>;
  permissions: {
    /** Exact host names the skill may call (https). */
    domains: string[];
    /** Names of the secrets the skill may read (its own only). */
    secrets: string[];
  };
  rateLimitPerMinute: number;
  timeoutMs: number;
  maxOutputBytes?: number;
};

export type GuardedFetchInit = {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
};

export type GuardedFetchResult =
  { ok: true; status: number; body: string; contentType: string | null } | { ok: false; code: string };

export type SkillTools = {
  /** Egress-checked fetch: allowlist, address check at connect time, no redirects, timeout, size cap. */
  fetch: (url: string, init?: GuardedFetchInit) => Promise<GuardedFetchResult>;
  /** A declared secret's value, or undefined when it is not set. */
  secret: (name: string) => string | undefined;
};

export type CodeSkillModule = {
  skillMeta: CodeSkillMeta;
  handler: (input: any, tools: SkillTools) => unknown;
};
