/**
 * Runners: approve a runner or remote CLI by the code it shows (device-code handshake), choosing its
 * name, capabilities and lifetime; list live runner grants and revoke them. Owners only (the server
 * decides; this page only hides what would be refused).
 */
import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import { useLoad, useMutate } from "../lib/data";
import { useCan } from "../auth/role";
import type { ErrorInfo } from "../lib/errors";
import {
  Badge,
  Button,
  Card,
  DataTable,
  EmptyState,
  ErrorState,
  Field,
  InlineError,
  Input,
  KeyValue,
  Loading,
  Notice,
  PageHeader,
} from "../ui/kit";

const when = (ms: number | null) => (ms ? new Date(ms).toLocaleString() : "—");

type Found = {
  requestedName: string;
  source: string;
  createdAt: number;
  expiresAt: number;
  capabilities: { name: string; label: string; tier: string; grantable: boolean }[];
};

export function RunnersPage() {
  const isOwner = useCan("owner");
  return (
    <>
      <PageHeader
        title="Runners"
        description="Machine tokens for runners and remote operator CLIs. A runner shows a code; you approve it here with only the capabilities it needs. Each runner gets its own token, expiring in hours, refreshable until its grant ends."
      />
      {isOwner ? (
        <>
          <ApproveCard />
          <div className="mt2">
            <GrantsCard />
          </div>
        </>
      ) : (
        <Notice>Only workspace owners approve and manage runners.</Notice>
      )}
    </>
  );
}

function ApproveCard() {
  const lookup = useMutate(api.runners.manage.lookup);
  const approve = useMutate(api.runners.manage.approve);
  const deny = useMutate(api.runners.manage.deny);
  const [code, setCode] = useState("");
  const [found, setFound] = useState<Found | null>(null);
  const [name, setName] = useState("");
  const [caps, setCaps] = useState<string[]>([]);
  const [days, setDays] = useState("7");
  const [problem, setProblem] = useState<ErrorInfo | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const reset = () => {
    setFound(null);
    setCode("");
    setCaps([]);
    setName("");
  };
  const refusal = (r: { ok: false; code: string; retryAfterMs: number }) =>
    setProblem({ code: r.code, retryAfterMs: r.retryAfterMs || undefined });

  const check = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    setDone(null);
    const r = await lookup.run({ userCode: code });
    if (!r.ok) return setProblem(r.error);
    if (!r.value.ok) return refusal(r.value);
    setFound(r.value);
    setName(r.value.requestedName);
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setProblem(null);
    const r = await approve.run({ userCode: code, name: name.trim(), capabilities: caps, days: Number(days) });
    if (!r.ok) return setProblem(r.error);
    if (!r.value.ok) return refusal(r.value);
    setDone(`Approved ${name.trim()}. The runner picks up its token on its next poll.`);
    reset();
  };
  const refuse = async () => {
    const r = await deny.run({ userCode: code });
    if (!r.ok) return setProblem(r.error);
    if (!r.value.ok) return refusal(r.value);
    setDone("Denied. The runner gets nothing.");
    reset();
  };

  return (
    <Card title="Approve a runner">
      {!found ? (
        <form onSubmit={check} noValidate>
          <Field label="Code shown by the runner" hint="Like BCDF-GHJK. Only approve a code you started yourself.">
            {(p) => (
              <Input {...p} name="userCode" autoComplete="off" value={code} onChange={(e) => setCode(e.target.value)} />
            )}
          </Field>
          <Button type="submit" variant="primary" pending={lookup.pending} disabled={code.trim().length < 8}>
            Continue
          </Button>
        </form>
      ) : (
        <form onSubmit={submit} noValidate>
          <KeyValue
            items={[
              ["Asked as", <code key="n">{found.requestedName}</code>],
              ["Started", when(found.createdAt)],
              ["From (pseudonymised)", <code key="s">{found.source}</code>],
              ["Code expires", when(found.expiresAt)],
            ]}
          />
          <Field label="Runner name">
            {(p) => <Input {...p} name="runnerName" value={name} onChange={(e) => setName(e.target.value)} />}
          </Field>
          <fieldset className="mt1">
            <legend>Capabilities</legend>
            {found.capabilities.map((c) => (
              <label key={c.name} className="row">
                <input
                  type="checkbox"
                  name="capability"
                  value={c.name}
                  disabled={!c.grantable}
                  checked={caps.includes(c.name)}
                  onChange={(e) => setCaps(e.target.checked ? [...caps, c.name] : caps.filter((x) => x !== c.name))}
                />
                <code>{c.name}</code> — {c.label}
                {!c.grantable ? (
                  <Badge tone="warn" title="The operator has not named you in WARDEN_OPERATOR_OWNERS">
                    operator only
                  </Badge>
                ) : null}
              </label>
            ))}
          </fieldset>
          <Field label="Grant lifetime (days, 1–30)">
            {(p) => (
              <Input
                {...p}
                name="days"
                type="number"
                min={1}
                max={30}
                value={days}
                onChange={(e) => setDays(e.target.value)}
              />
            )}
          </Field>
          <div className="row mt1">
            <Button
              type="submit"
              variant="primary"
              pending={approve.pending}
              disabled={caps.length === 0 || !name.trim()}
            >
              Approve
            </Button>
            <Button variant="secondary" pending={deny.pending} onClick={refuse}>
              Deny
            </Button>
          </div>
        </form>
      )}
      <InlineError error={problem} />
      {done ? (
        <p role="status" className="small mt1">
          {done}
        </p>
      ) : null}
    </Card>
  );
}

function GrantsCard() {
  const list = useLoad(api.runners.manage.list, {});
  const revoke = useMutate(api.runners.manage.revoke);
  if (list.status === "loading") return <Loading label="Loading runners…" />;
  if (list.status === "error") return <ErrorState error={list.error} title="Couldn't load runners" />;
  if (list.data.grants.length === 0)
    return <EmptyState title="No runners">Approve a runner's code above to give it a token.</EmptyState>;
  return (
    <Card title="Live runners">
      <DataTable
        caption="Runners with a live grant"
        columns={["Name", "Capabilities", "Approved by", "Token expires", "Grant ends", "Last used"]}
        actions
      >
        {list.data.grants.map((g) => (
          <tr key={g.grantId}>
            <td>{g.name}</td>
            <td>{g.capabilities.join(", ")}</td>
            <td>{g.approvedBy}</td>
            <td>{g.collected ? when(g.tokenExpiresAt) : <Badge tone="warn">not collected</Badge>}</td>
            <td>{when(g.expiresAt)}</td>
            <td>{when(g.lastUsedAt)}</td>
            <td>
              <Button
                variant="secondary"
                className="btn-small"
                pending={revoke.pending}
                onClick={() => revoke.run({ grantId: g.grantId })}
              >
                Revoke
              </Button>
            </td>
          </tr>
        ))}
      </DataTable>
      <InlineError error={revoke.error} />
    </Card>
  );
}
