import { useState, type FormEvent } from "react";
import { api } from "../../../convex/_generated/api";
import { useMutate } from "../../lib/data";
import { friendly, type ErrorInfo } from "../../lib/errors";
import { useCan } from "../../auth/role";
import { Card, Field, Input, RoleButton } from "../../ui/kit";
import type { Skill } from "./status";

export function DomainsCard({ skill }: { skill: Skill }) {
  const update = useMutate(api.skills.registry.update);
  const [entry, setEntry] = useState("");
  const [error, setError] = useState<{ value: string; info: ErrorInfo } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const isCode = skill.type === "code";

  const add = async (e: FormEvent) => {
    e.preventDefault();
    const value = entry.trim();
    if (!value) return;
    setError(null);
    setNote(null);
    const next = [...skill.allowedDomains, value];
    const r = await update.run({ skillId: skill._id, allowedDomains: next });
    if (!r.ok) {
      // The server names the entry (index) that failed; show its code next to what was typed.
      const hit = r.error.errors?.find((x) => x.field === "allowedDomains") ?? r.error;
      setError({ value, info: { ...r.error, code: hit.code, field: "allowedDomains" } });
      return;
    }
    setEntry("");
    if (r.value.status === "pending" && skill.status === "approved")
      setNote("Domain added. Adding a domain widens what the skill can reach, so it went back to review.");
    else setNote("Domain added.");
  };
  const remove = async (d: string) => {
    setError(null);
    const r = await update.run({ skillId: skill._id, allowedDomains: skill.allowedDomains.filter((x) => x !== d) });
    if (!r.ok) setError({ value: d, info: r.error });
    else setNote(`Removed ${d}. Removing a domain only narrows access, so the approval stays.`);
  };
  const canEdit = useCan("admin");
  return (
    <Card title="Allowed domains">
      <p className="small muted">
        The only hosts this skill may contact: exact names, https only. Wildcards, IP addresses, internal names and URLs
        with paths are refused by the server.
      </p>
      {skill.allowedDomains.length === 0 ? (
        <p className="muted">No domains: this skill can't make network calls.</p>
      ) : (
        <ul className="chips" aria-label="Allowed domains">
          {skill.allowedDomains.map((d) => (
            <li key={d} className="chip">
              {d}
              {canEdit ? (
                <button type="button" aria-label={`Remove ${d}`} onClick={() => void remove(d)}>
                  ×
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      <form onSubmit={add} noValidate>
        <Field
          label="Add a domain"
          hint={isCode ? "Code skills can only narrow their declared domains." : "For example api.example.com"}
          error={
            error ? (
              <>
                “{error.value}”: {friendly(error.info.code)} <code>{error.info.code}</code>
              </>
            ) : undefined
          }
        >
          {(p) => (
            <div className="row">
              <Input
                {...p}
                className="input mono grow"
                value={entry}
                onChange={(e) => setEntry(e.target.value)}
                placeholder="api.example.com"
                disabled={!canEdit}
                autoComplete="off"
                spellCheck={false}
              />
              <RoleButton
                need="admin"
                type="submit"
                variant="primary"
                pending={update.pending}
                disabled={!entry.trim()}
              >
                Add domain
              </RoleButton>
            </div>
          )}
        </Field>
      </form>
      {note ? (
        <p className="small" role="status">
          {note}
        </p>
      ) : null}
    </Card>
  );
}
