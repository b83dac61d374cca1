/** Identity of a code skill as deployed: its meta plus its handler's source text. */
import type { CodeSkillModule } from "./code/types";
import { canonicalJson } from "./hash";
import { sha256Hex } from "../lib/tokens";

export async function codeSourceHash(mod: CodeSkillModule): Promise<string> {
  return await sha256Hex(`${canonicalJson(mod.skillMeta)}\n${String(mod.handler)}`);
}
