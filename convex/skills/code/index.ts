/**
 * Every code-defined skill, by registry name. Adding a module here is all it takes: the deploy
 * sync (skills/codeSync:sync) registers it as "pending" in every workspace; an owner or admin
 * must approve it before it can run.
 */
import type { CodeSkillModule } from "./types";
import * as wordCount from "./wordCount";
import * as githubRepoInfo from "./githubRepoInfo";

export const CODE_SKILLS: Record<string, CodeSkillModule> = {
  [wordCount.skillMeta.name]: wordCount,
  [githubRepoInfo.skillMeta.name]: githubRepoInfo,
};
