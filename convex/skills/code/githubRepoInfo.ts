/** Code skill: public facts about a GitHub repository, from api.github.com only. */
import type { CodeSkillMeta, SkillTools } from "./types";

const SLUG = "^[A-Za-z0-9_.-]{1,100}$";

export const skillMeta: CodeSkillMeta = {
  name: "github_repo_info",
  description: "Look up a public GitHub repository: description, stars, forks, open issues, language, license.",
  inputSchema: {
    type: "object",
    properties: {
      owner: { type: "string", pattern: SLUG },
      repo: { type: "string", pattern: SLUG },
    },
    required: ["owner", "repo"],
    additionalProperties: false,
  },
  permissions: { domains: ["api.github.com"], secrets: ["GITHUB_TOKEN"] },
  rateLimitPerMinute: 30,
  timeoutMs: 10000,
  maxOutputBytes: 50 * 1024,
};

export async function handler(input: { owner: string; repo: string }, tools: SkillTools) {
  const slug = new RegExp(SLUG);
  if (!slug.test(input.owner) || !slug.test(input.repo) || /^\.+$/.test(input.owner) || /^\.+$/.test(input.repo)) {
    return { error: "INPUT_INVALID" };
  }
  const headers: Record<string, string> = {
    accept: "application/vnd.github+json",
    "user-agent": "warden-skill",
  };
  const token = tools.secret("GITHUB_TOKEN");
  if (token) headers.authorization = `Bearer ${token}`;
  const url = `https://api.github.com/repos/${encodeURIComponent(input.owner)}/${encodeURIComponent(input.repo)}`;
  const res = await tools.fetch(url, { headers });
  if (!res.ok) return { error: res.code };
  if (res.status === 404) return { error: "NOT_FOUND" };
  if (res.status !== 200) return { error: "UPSTREAM_ERROR" };
  let r: Record<string, any>;
  try {
    r = JSON.parse(res.body);
  } catch {
    return { error: "UPSTREAM_ERROR" };
  }
  return {
    fullName: String(r.full_name ?? ""),
    description: typeof r.description === "string" ? r.description : null,
    stars: Number(r.stargazers_count ?? 0),
    forks: Number(r.forks_count ?? 0),
    openIssues: Number(r.open_issues_count ?? 0),
    language: typeof r.language === "string" ? r.language : null,
    license: typeof r.license?.spdx_id === "string" ? r.license.spdx_id : null,
    defaultBranch: typeof r.default_branch === "string" ? r.default_branch : null,
    archived: r.archived === true,
    pushedAt: typeof r.pushed_at === "string" ? r.pushed_at : null,
    url: typeof r.html_url === "string" ? r.html_url : null,
  };
}
