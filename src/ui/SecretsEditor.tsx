/** Write-only secrets: a value goes in once; afterwards only "••••" + the last 4 characters are shown. */
import { useId, useState, type FormEvent } from "react";
import type { Loadable, RunResult } from "../lib/data";
import type { ErrorInfo } from "../lib/errors";
import { relative } from "../lib/format";
import { useCan } from "../auth/role";
import { Badge, InlineError, Input, Loading, Notice, RoleButton } from "./kit";

export type MaskedSecret = { name: string; masked: string; keyVersion: string; updatedAt: number };

export function SecretsEditor({
  names,
  list,
  onSet,
  onDelete,
  allowCustomName,
}: {
  names: string[];
  list: Loadable<MaskedSecret[]>;
  onSet: (name: string, value: string) => Promise<RunResult<MaskedSecret>>;
  onDelete: (name: string) => Promise<RunResult<null>>;
  allowCustomName?: boolean;
}) {
  const canSee = useCan("admin");
  const [custom, setCustom] = useState("");
  if (!canSee)
    return <Notice>Only admins and owners can see which secrets are set. Values are never shown to anyone.</Notice>;
  if (list.status === "loading") return <Loading />;
  if (list.status === "error") return <InlineError error={list.error} />;
  const byName = new Map(list.data.map((s) => [s.name, s]));
  const all = [...new Set([...names, ...list.data.map((s) => s.name)])];
  return (
    <div>
      <p className="small muted">
        Secrets are encrypted on the server and never shown again — not even to owners. Replace a value by saving a new
        one.
      </p>
      {all.length === 0 && !allowCustomName ? <p className="muted">This item declares no secrets.</p> : null}
      <ul className="list-plain">
        {all.map((name) => (
          <SecretRow key={name} name={name} current={byName.get(name)} onSet={onSet} onDelete={onDelete} />
        ))}
      </ul>
      {allowCustomName ? (
        <div className="row mt1">
          <label className="sr-only" htmlFor="new-secret-name">
            New secret name
          </label>
          <Input
            id="new-secret-name"
            placeholder="NEW_SECRET_NAME"
            value={custom}
            onChange={(e) => setCustom(e.target.value)}
            className="input mono"
          />
          {custom ? (
            <SecretRow
              name={custom}
              current={undefined}
              onSet={async (n, v) => {
                const r = await onSet(n, v);
                if (r.ok) setCustom("");
                return r;
              }}
              onDelete={onDelete}
              inline
            />
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function SecretRow({
  name,
  current,
  onSet,
  onDelete,
  inline,
}: {
  name: string;
  current: MaskedSecret | undefined;
  onSet: (name: string, value: string) => Promise<RunResult<MaskedSecret>>;
  onDelete: (name: string) => Promise<RunResult<null>>;
  inline?: boolean;
}) {
  const id = useId();
  const [value, setValue] = useState("");
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!value) return;
    setPending(true);
    setError(null);
    const r = await onSet(name, value);
    setPending(false);
    if (r.ok) {
      setValue("");
      setSaved(r.value.masked);
    } else setError(r.error);
  };
  const body = (
    <form onSubmit={submit} className="row" aria-label={`Secret ${name}`}>
      <label htmlFor={id} className={inline ? "sr-only" : "mono nowrap"}>
        {name}
      </label>
      {!inline ? (
        current ? (
          <span className="secret-mask" data-testid={`secret-${name}`}>
            {current.masked}
          </span>
        ) : (
          <Badge tone="warn">not set</Badge>
        )
      ) : null}
      {!inline && current ? <span className="small muted">updated {relative(current.updatedAt)}</span> : null}
      <span className="spacer" />
      <Input
        id={id}
        type="password"
        autoComplete="new-password"
        spellCheck={false}
        placeholder={current ? "New value" : "Value"}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        className="input secret-input"
      />
      <RoleButton need="owner" type="submit" variant="primary" pending={pending} disabled={!value}>
        Save
      </RoleButton>
      {current && !inline ? (
        <RoleButton
          need="owner"
          variant="danger"
          onClick={async () => {
            const r = await onDelete(name);
            if (!r.ok) setError(r.error);
          }}
        >
          Delete
        </RoleButton>
      ) : null}
    </form>
  );
  if (inline) return body;
  return (
    <li>
      {body}
      {saved ? (
        <p className="small muted mt1 mb0" role="status">
          Saved. Stored as <span className="secret-mask">{saved}</span>.
        </p>
      ) : null}
      <InlineError error={error} />
    </li>
  );
}
