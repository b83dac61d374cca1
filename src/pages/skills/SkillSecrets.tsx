import { api } from "../../../convex/_generated/api";
import { useLoad, useMutate } from "../../lib/data";
import { useCan } from "../../auth/role";
import { SecretsEditor } from "../../ui/SecretsEditor";
import type { Skill } from "./status";

export function SkillSecrets({ skill }: { skill: Skill }) {
  const canAdmin = useCan("admin");
  const list = useLoad(api.secrets.manage.listSkillSecrets, canAdmin ? { skillId: skill._id } : "skip");
  const set = useMutate(api.secrets.manage.setSkillSecret);
  const del = useMutate(api.secrets.manage.deleteSkillSecret);
  if (skill.secretNames.length === 0 && skill.type !== "webhook") {
    return (
      <p className="muted mb0">
        This skill declares no secrets. Webhook skills can declare secrets and inject them into request headers.
      </p>
    );
  }
  return (
    <SecretsEditor
      names={skill.secretNames}
      list={list}
      onSet={(name, value) => set.run({ skillId: skill._id, name, value })}
      onDelete={(name) => del.run({ skillId: skill._id, name })}
    />
  );
}
