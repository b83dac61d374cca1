import { useState } from "react";
import { usePaginatedQuery } from "convex/react";
import { api } from "../../../convex/_generated/api";
import { relative } from "../../lib/format";
import { Link, navigate } from "../../lib/router";
import { Badge, Button, DataTable, EmptyState, Loading, PageHeader, RoleButton } from "../../ui/kit";
import { FILTERS, STATUS_TEXT, statusTone, type Status } from "./status";
import { ReviewButtons } from "./ReviewButtons";

export function SkillsPage() {
  const [filter, setFilter] = useState<Status | undefined>(undefined);
  const { results, status, loadMore } = usePaginatedQuery(api.skills.registry.list, filter ? { status: filter } : {}, {
    initialNumItems: 25,
  });
  return (
    <>
      <PageHeader
        title="Skills"
        description="Tools the agent can call. Every call goes through the security checker; nothing runs until an admin approves it."
        actions={
          <RoleButton need="admin" variant="primary" onClick={() => navigate("/skills/new")}>
            New skill
          </RoleButton>
        }
      />
      <div className="tabs" role="group" aria-label="Filter by status">
        {FILTERS.map((f) => (
          <button key={f.label} type="button" aria-pressed={filter === f.status} onClick={() => setFilter(f.status)}>
            {f.label}
          </button>
        ))}
      </div>
      {status === "LoadingFirstPage" ? (
        <Loading />
      ) : results.length === 0 ? (
        <EmptyState
          title={filter ? `No ${STATUS_TEXT[filter]} skills` : "No skills yet"}
          action={
            filter ? undefined : (
              <RoleButton need="admin" variant="primary" onClick={() => navigate("/skills/new")}>
                Create your first skill
              </RoleButton>
            )
          }
        >
          {filter
            ? "Try another filter."
            : "Create a skill from a template (calculator, time zones, JSON APIs, RSS) or a webhook. It stays pending until an admin approves it."}
        </EmptyState>
      ) : (
        <DataTable columns={["Skill", "Type", "Status", "Domains", "Updated"]} actions>
          {results.map((s) => (
            <tr key={s._id}>
              <td>
                <Link to={`/skills/${s._id}`}>
                  <strong>{s.name}</strong>
                </Link>
                <div className="small muted">{s.description.slice(0, 120)}</div>
              </td>
              <td>{s.type}</td>
              <td>
                <Badge tone={statusTone(s.status)}>{STATUS_TEXT[s.status]}</Badge>
              </td>
              <td className="small">
                {s.allowedDomains.length ? s.allowedDomains.join(", ") : <span className="muted">none</span>}
              </td>
              <td className="nowrap small">{relative(s.updatedAt)}</td>
              <td>
                <ReviewButtons skill={s} compact />
              </td>
            </tr>
          ))}
        </DataTable>
      )}
      {status === "CanLoadMore" ? (
        <div className="row mt2">
          <Button onClick={() => loadMore(25)}>Load more</Button>
        </div>
      ) : null}
    </>
  );
}
