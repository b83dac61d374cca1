/** The Skills pages: the list, a skill's detail (review, domains, config, secrets, test panel) and the new-skill form. */
export { SkillsPage } from "./SkillsPage";
export { SkillDetail } from "./SkillDetail";
export { NewSkill } from "./NewSkill";
export { statusTone } from "./status";
