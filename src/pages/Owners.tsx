import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useAct, useLoad, useMutate } from "../lib/data";
import { useCan, useSession, type Role } from "../auth/role";
import { Badge, Card, DataTable, EmptyState, ErrorState, Field, InlineError, Input, Loading, Notice, PageHeader, RoleButton, Select } from "../ui/kit";

const ROLE_HELP: Record<Role, string> = {
  owner: "everything, including owners, secrets and the agent",
  admin: "approve skills and MCP servers, edit limits, channels and allowlists",
  viewer: "read-only",
};

export function OwnersPage() {
  const isOwner = useCan("owner");
  return (
    <>
      <PageHeader title="Owners & roles" description="Who can sign in to this workspace, and what they may change." />
      <Card title="Roles">
        <ul className="list-plain">
          {(Object.keys(ROLE_HELP) as Role[]).map((r) => (
            <li key={r}>
              <Badge tone={r === "owner" ? "accent" : "neutral"}>{r}</Badge> <span className="small">{ROLE_HELP[r]}</span>
            </li>
          ))}
        </ul>
      </Card>
      <div className="mt2">{isOwner ? <OwnersList /> : <Notice>Only owners can see and manage the member list.</Notice>}</div>
    </>
  );
}

function OwnersList() {
  const me = useSession();
  const owners = useLoad(api.owners.manage.list, {});
  const setRole = useMutate(api.owners.manage.setRole);
  const setActive = useMutate(api.owners.manage.setActive);
  return (
    <div className="stack">
      <Card title="Members">
        {owners.status === "loading" ? <Loading /> : null}
        {owners.status === "error" ? <ErrorState error={owners.error} /> : null}
        {owners.status === "ok" && owners.data.length === 0 ? <EmptyState title="No members">Invite someone below.</EmptyState> : null}
        {owners.status === "ok" && owners.data.length > 0 ? (
          <DataTable columns={["Owner key", "Sign-in", "Role", "Status"]} actions>
            {owners.data.map((o) => {
              const self = o.ownerKey === me.ownerKey;
              return (
                <tr key={o.ownerId}>
                  <td>
                    <strong>{o.ownerKey}</strong> {self ? <span className="muted small">(you)</span> : null}
                  </td>
                  <td className="small">{o.builtin ? "password" : "Clerk"}</td>
                  <td>
                    <label className="sr-only" htmlFor={`role-${o.ownerId}`}>
                      Role of {o.ownerKey}
                    </label>
                    <Select
                      id={`role-${o.ownerId}`}
                      value={o.role}
                      disabled={self}
                      onChange={(e) => void setRole.run({ ownerId: o.ownerId as Id<"owners">, role: e.target.value as Role })}
                    >
                      <option value="owner">owner</option>
                      <option value="admin">admin</option>
                      <option value="viewer">viewer</option>
                    </Select>
                  </td>
                  <td>{o.active ? <Badge tone="ok">active</Badge> : <Badge tone="danger">deactivated</Badge>}</td>
                  <td>
                    {self ? null : (
                      <RoleButton
                        need="owner"
                        variant={o.active ? "danger" : "secondary"}
                        className="btn-small"
                        onClick={() => void setActive.run({ ownerId: o.ownerId as Id<"owners">, active: !o.active })}
                      >
                        {o.active ? "Deactivate" : "Reactivate"}
                      </RoleButton>
                    )}
                  </td>
                </tr>
              );
            })}
          </DataTable>
        ) : null}
        <InlineError error={setRole.error ?? setActive.error} />
      </Card>
      <InviteCard />
    </div>
  );
}

function InviteCard() {
  const invite = useAct(api.owners.manage.invite);
  const [ownerKey, setOwnerKey] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    const r = await invite.run({ ownerKey: ownerKey.trim(), password, role });
    if (r.ok) {
      setDone(`${ownerKey.trim()} can now sign in as ${role}. Share the password over a safe channel; it isn't shown again.`);
      setOwnerKey("");
      setPassword("");
    }
  };
  const err = invite.error;
  return (
    <Card title="Invite someone">
      <p className="small muted">
        Creates a password sign-in for a new member (or resets the password of an existing member). Passwords are hashed with PBKDF2 on the server.
      </p>
      <form onSubmit={submit} noValidate>
        <div className="form-row">
          <Field label="Owner key" hint="3–64 characters: letters, digits, . _ @ -" error={err?.field === "ownerKey" ? "Use 3–64 letters, digits, or . _ @ -" : undefined}>
            {(p) => <Input {...p} value={ownerKey} onChange={(e) => setOwnerKey(e.target.value)} autoComplete="off" />}
          </Field>
          <Field label="Initial password" hint="At least 12 characters" error={err?.field === "password" ? "The password is too short (or too long)." : undefined}>
            {(p) => <Input {...p} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
          </Field>
          <Field label="Role">
            {(p) => (
              <Select {...p} value={role} onChange={(e) => setRole(e.target.value as Role)}>
                <option value="viewer">viewer</option>
                <option value="admin">admin</option>
                <option value="owner">owner</option>
              </Select>
            )}
          </Field>
        </div>
        {err && !err.field ? <InlineError error={err} /> : null}
        <RoleButton need="owner" type="submit" variant="primary" pending={invite.pending} disabled={!ownerKey || !password}>
          Invite
        </RoleButton>
        {done ? (
          <p role="status" className="small mt1">
            {done}
          </p>
        ) : null}
      </form>
    </Card>
  );
}
