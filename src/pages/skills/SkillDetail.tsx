import { api } from "../../../convex/_generated/api";
import type { Id } from "../../../convex/_generated/dataModel";
import { useLoad } from "../../lib/data";
import { bytes, dateTime } from "../../lib/format";
import { Link } from "../../lib/router";
import { TestSkillPanel } from "./TestSkillPanel";
import { Badge, Card, ErrorState, KeyValue, Loading, Notice, PageHeader } from "../../ui/kit";
import { STATUS_TEXT, statusTone } from "./status";
import { ReviewButtons } from "./ReviewButtons";
import { SkillSecrets } from "./SkillSecrets";
import { DomainsCard } from "./DomainsCard";
import { ConfigCard } from "./ConfigCard";

export function SkillDetail({ id }: { id: string }) {
  const skill = useLoad(api.skills.registry.get, { skillId: id as Id<"skillRegistry"> });
  if (skill.status === "loading") return <Loading />;
  if (skill.status === "error")
    return (
      <>
        <PageHeader title="Skill" />
        <ErrorState error={skill.error} action={<Link to="/skills">Back to skills</Link>} />
      </>
    );
  const s = skill.data;
  return (
    <>
      <p className="small">
        <Link to="/skills">← Skills</Link>
      </p>
      <PageHeader
        title={s.name}
        description={s.description}
        actions={
          <div className="row">
            <Badge tone={statusTone(s.status)}>{STATUS_TEXT[s.status]}</Badge>
            <ReviewButtons skill={s} />
          </div>
        }
      />
      {s.status === "pending" ? (
        <Notice tone="warn" title="Waiting for review">
          This skill can't run until an admin approves it. Check the configuration, domains and secrets below first.
        </Notice>
      ) : null}
      {s.status === "disabled" ? (
        <Notice tone="danger">This skill is disabled. Approve it again to re-enable it.</Notice>
      ) : null}
      <div className="stack">
        <Card title="Review">
          <KeyValue
            items={[
              ["Type", s.type],
              [
                "Rate limit",
                s.rateLimitPerMinute ? `${s.rateLimitPerMinute} per minute` : "workspace default (skillPerSkill)",
              ],
              ["Timeout", `${s.timeoutMs} ms`],
              ["Max output", bytes(s.maxOutputBytes)],
              ["Plain http allowed", s.allowHttp ? "yes" : "no (https only)"],
              ["Approved", s.approvedAt ? dateTime(s.approvedAt) : "—"],
              ["Updated", dateTime(s.updatedAt)],
            ]}
          />
          <h3 className="mt2">Input schema</h3>
          <pre className="code-block mt1">{JSON.stringify(s.inputSchema, null, 2)}</pre>
        </Card>
        <TestSkillPanel skill={s} />
        <DomainsCard skill={s} />
        <ConfigCard skill={s} key={s.configHash} />
        <Card title="Secrets">
          <SkillSecrets skill={s} />
        </Card>
      </div>
    </>
  );
}
