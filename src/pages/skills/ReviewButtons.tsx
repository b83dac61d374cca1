import { api } from "../../../convex/_generated/api";
import { useMutate } from "../../lib/data";
import { RejectButton, SkillApproveButton } from "../../ui/ApprovalGate";
import { InlineError, RoleButton } from "../../ui/kit";
import type { Skill } from "./status";

export function ReviewButtons({ skill, compact }: { skill: Skill; compact?: boolean }) {
  const reject = useMutate(api.skills.registry.reject, { toast: `${skill.name} rejected.` });
  const disable = useMutate(api.skills.registry.disable);
  const err = reject.error ?? disable.error;
  const cls = compact ? "btn-small" : undefined;
  return (
    <div>
      <div className={compact ? "row nowrap-row" : "row"}>
        {skill.status !== "approved" ? <SkillApproveButton skill={skill} className={cls} /> : null}
        {skill.status === "pending" ? (
          <RejectButton
            name={skill.name}
            className={cls}
            pending={reject.pending}
            what="A rejected skill can't run. It stays in the list, and an admin can still review and approve it later."
            onConfirm={() => reject.run({ skillId: skill._id })}
          />
        ) : null}
        {skill.status === "approved" && !compact ? (
          <RoleButton
            need="admin"
            variant="danger"
            pending={disable.pending}
            onClick={() => void disable.run({ skillId: skill._id })}
          >
            Disable
          </RoleButton>
        ) : null}
      </div>
      <InlineError error={err} />
    </div>
  );
}
