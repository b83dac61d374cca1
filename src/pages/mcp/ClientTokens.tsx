/** Tokens for MCP clients of this workspace's /mcp endpoint: mint, scope, revoke. */
import { useState, type FormEvent } from "react";
import { api } from "../../../convex/_generated/api";
import { useLoad, useMutate } from "../../lib/data";
import { dateTime, relative } from "../../lib/format";
import {
  Badge,
  Button,
  Card,
  CopyButton,
  DataTable,
  Field,
  InlineError,
  Input,
  Loading,
  Notice,
  RoleButton,
} from "../../ui/kit";

export function ClientTokens() {
  const tokens = useLoad(api.mcp.inbound.tokens.list, {});
  const mint = useMutate(api.mcp.inbound.tokens.mint);
  const revoke = useMutate(api.mcp.inbound.tokens.revoke);
  const choices = useLoad(api.mcp.inbound.tokens.upstreamChoices, {});
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState("");
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [days, setDays] = useState("30");
  const [fresh, setFresh] = useState<{ token: string; name: string; audience: string } | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const r = await mint.run({
      name: name.trim(),
      toolScopes: [...scopes.split(/[\s,]+/).filter(Boolean), ...picked],
      expiresInDays: Number(days),
    });
    if (r.ok) {
      setFresh({ token: r.value.token, name: name.trim(), audience: r.value.audience });
      setName("");
      setScopes("");
      setPicked(new Set());
    }
  };
  const err = mint.error;
  const fieldText: Record<string, string> = {
    name: "Use 1–64 letters, digits, spaces, . _ or -.",
    toolScopes: "Scopes are skill names (lowercase) or upstream tools of this workspace's servers, at most 100.",
    expiresInDays: "Choose 1 to 365 days.",
    WARDEN_PUBLIC_BASE_URL:
      "Set WARDEN_PUBLIC_BASE_URL on the server first: tokens are bound to this deployment's /mcp address.",
  };
  return (
    <Card title="Client tokens for Warden's own MCP server">
      <p className="small muted">
        MCP clients call Warden's /mcp endpoint with one token each. A token is scoped to the skills and upstream MCP
        tools you pick, expires, and can be revoked at any time. Upstream tools are called through the same checks as
        the agent's (approval, pinned definition, limits, egress, redaction, log); a tool that changes upstream
        disappears from the token until you approve it again.
      </p>
      {fresh ? (
        <Notice tone="warn" title={`Copy the token for “${fresh.name}” now — it won't be shown again`}>
          <div className="row">
            <code className="token-box grow" data-testid="minted-token">
              {fresh.token}
            </code>
            <CopyButton text={fresh.token} label="Copy token" />
          </div>
          <p className="small mt1">
            Audience: <code>{fresh.audience}</code>. Warden stores only a hash of it. If you lose it, revoke it and mint
            a new one.
          </p>
          <Button variant="secondary" onClick={() => setFresh(null)}>
            I've stored it safely
          </Button>
        </Notice>
      ) : null}
      {tokens.status === "loading" ? <Loading /> : null}
      {tokens.status === "error" ? <InlineError error={tokens.error} /> : null}
      {tokens.status === "ok" && tokens.data.length === 0 ? <p className="muted">No client tokens yet.</p> : null}
      {tokens.status === "ok" && tokens.data.length > 0 ? (
        <DataTable columns={["Name", "Token", "Scopes", "Expires", "Last used"]} actions className="mb2">
          {tokens.data.map((t) => {
            const expired = t.expiresAt <= Date.now();
            return (
              <tr key={t._id}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td className="small">
                  {t.toolScopes.length ? t.toolScopes.join(", ") : <span className="muted">none</span>}
                </td>
                <td className="small nowrap">
                  {t.revoked ? (
                    <Badge tone="danger">revoked</Badge>
                  ) : expired ? (
                    <Badge tone="warn">expired</Badge>
                  ) : (
                    dateTime(t.expiresAt)
                  )}
                </td>
                <td className="small">{relative(t.lastUsedAt)}</td>
                <td>
                  {!t.revoked ? (
                    <RoleButton
                      need="owner"
                      variant="danger"
                      className="btn-small"
                      onClick={() => void revoke.run({ tokenId: t._id })}
                    >
                      Revoke
                    </RoleButton>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </DataTable>
      ) : null}
      <InlineError error={revoke.error} />
      <h3>New client token</h3>
      <form onSubmit={submit} noValidate className="mt1">
        <div className="form-row">
          <Field
            label="Client name"
            error={
              err?.field === "name" ? (
                <>
                  {fieldText.name} <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="Claude Desktop" />
            )}
          </Field>
          <Field
            label="Skills it may call"
            hint="Skill names, separated by spaces or commas"
            error={
              err?.field === "toolScopes" ? (
                <>
                  {fieldText.toolScopes} <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                className="input mono"
                value={scopes}
                onChange={(e) => setScopes(e.target.value)}
                placeholder="calculator weather_lookup"
              />
            )}
          </Field>
          <Field
            label="Expires in (days)"
            error={
              err?.field === "expiresInDays" ? (
                <>
                  {fieldText.expiresInDays} <code>{err.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                className="input num-input"
                inputMode="numeric"
                value={days}
                onChange={(e) => setDays(e.target.value)}
              />
            )}
          </Field>
        </div>
        <fieldset data-testid="upstream-scopes">
          <legend>Upstream MCP tools it may call</legend>
          {choices.status === "loading" ? <Loading /> : null}
          {choices.status === "error" ? <InlineError error={choices.error} /> : null}
          {choices.status === "ok" && choices.data.length === 0 ? (
            <p className="small muted mb0">No approved tools on an approved, enabled server yet.</p>
          ) : null}
          {choices.status === "ok"
            ? choices.data.map((c) => (
                <label key={c.scope} className="checkbox">
                  <input
                    type="checkbox"
                    checked={picked.has(c.scope)}
                    onChange={(e) => {
                      const next = new Set(picked);
                      if (e.target.checked) next.add(c.scope);
                      else next.delete(c.scope);
                      setPicked(next);
                    }}
                  />
                  <code>{c.exposedName}</code> <span className="small muted">— {c.description.slice(0, 80)}</span>
                </label>
              ))
            : null}
        </fieldset>
        {err && !["name", "toolScopes", "expiresInDays"].includes(err.field ?? "") ? (
          err.field && fieldText[err.field] ? (
            <p className="inline-error" role="alert">
              {fieldText[err.field]} <code>{err.code}</code>
            </p>
          ) : (
            <InlineError error={err} />
          )
        ) : null}
        <RoleButton need="owner" type="submit" variant="primary" pending={mint.pending} disabled={!name.trim()}>
          Mint token
        </RoleButton>
      </form>
    </Card>
  );
}
