import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useLoad, useMutate } from "../lib/data";
import { friendly } from "../lib/errors";
import { relative } from "../lib/format";
import { useCan } from "../auth/role";
import { SecretsEditor } from "../ui/SecretsEditor";
import { PLATFORM_CATALOG, PLATFORMS, type Platform, type PlatformEntry } from "../../convex/channels/platforms/index";
import { ChannelSetup } from "./ChannelSetup";
import { PairingCode, SenderPolicySelect, TrustCell, TrustActions, type SenderPolicy } from "./ChannelSenders";
import {
  Badge,
  Button,
  Card,
  EmptyState,
  ErrorState,
  Field,
  InlineError,
  Input,
  Loading,
  Notice,
  PageHeader,
  RoleButton,
  Select,
} from "../ui/kit";

// The platform list, names and settings forms come from the adapter registry.
const PLATFORM_TEXT = Object.fromEntries(PLATFORM_CATALOG.map((e) => [e.platform, e.label])) as Record<
  Platform,
  string
>;
const SETTINGS = Object.fromEntries(PLATFORM_CATALOG.map((e) => [e.platform, e.settingsFields])) as Record<
  Platform,
  PlatformEntry["settingsFields"]
>;

type Channel = {
  _id: Id<"channelConfig">;
  platform: Platform;
  name: string;
  enabled: boolean;
  settings: Record<string, string>;
  webhookUrl: string | null;
  publicUrlProblem: "loopback" | "private" | "local-name" | "not-https" | null;
  secretNames: string[];
  setupSteps: string[];
  health: { failing: boolean; lastFailureAt: number | null; lastFailureCode: string | null; failures: number } | null;
  updatedAt: number;
};

/** Reply delivery health: failing since the last final failure until a reply is delivered again. */
function HealthBadge({ h }: { h: Channel["health"] }) {
  if (!h) return null;
  if (!h.failing) return <Badge tone="ok">delivering</Badge>;
  const code = h.lastFailureCode ?? "VENDOR_ERROR";
  return (
    <Badge tone="danger" title={friendly(code)}>
      delivery failing · {code}
      {h.lastFailureAt ? ` · ${relative(h.lastFailureAt)}` : ""}
    </Badge>
  );
}

export function ChannelsPage() {
  const canAdd = useCan("admin");
  const list = useLoad(api.channels.manage.list, {});
  const policies = useLoad(api.agency.board.senderPolicies, {});
  const policyOf = (id: Id<"channelConfig">): SenderPolicy | null =>
    policies.status === "ok" ? (policies.data.find((p) => p.channelId === id)?.policy ?? "open") : null;
  return (
    <>
      <PageHeader
        title="Channels"
        description="Let people reach the agent on Telegram, Slack, Discord, SMS/WhatsApp and email. Every inbound webhook is signature-checked."
      />
      <div className="stack">
        {list.status === "loading" ? <Loading /> : null}
        {list.status === "error" ? <ErrorState error={list.error} /> : null}
        {list.status === "ok" && list.data.length === 0 ? (
          <EmptyState title="No channels yet">
            Add a channel below. It starts disabled: set its secrets, paste the webhook URL into the vendor's console,
            then enable it.
          </EmptyState>
        ) : null}
        {list.status === "ok"
          ? list.data.map((c) => <ChannelCard key={c._id} c={c as Channel} policy={policyOf(c._id)} />)
          : null}
        {canAdd ? <AddChannel /> : null}
      </div>
    </>
  );
}

function ChannelCard({ c, policy }: { c: Channel; policy: SenderPolicy | null }) {
  const enable = useMutate(api.channels.manage.enable);
  const disable = useMutate(api.channels.manage.disable);
  const remove = useMutate(api.channels.manage.remove);
  const canAdmin = useCan("admin");
  const secrets = useLoad(api.secrets.manage.listChannelSecrets, canAdmin ? { channelId: c._id } : "skip");
  const setSecret = useMutate(api.secrets.manage.setChannelSecret);
  const delSecret = useMutate(api.secrets.manage.deleteChannelSecret);
  const [confirm, setConfirm] = useState(false);
  const missing = secrets.status === "ok" ? c.secretNames.filter((n) => !secrets.data.some((s) => s.name === n)) : [];
  return (
    <Card
      title={
        <>
          {c.name} <span className="muted small">· {PLATFORM_TEXT[c.platform]}</span>
        </>
      }
      actions={
        <>
          {c.enabled ? <Badge tone="ok">enabled</Badge> : <Badge tone="warn">disabled</Badge>}
          <HealthBadge h={c.health} />
          {c.enabled ? (
            <RoleButton need="admin" pending={disable.pending} onClick={() => void disable.run({ channelId: c._id })}>
              Disable
            </RoleButton>
          ) : (
            <RoleButton
              need="admin"
              variant="primary"
              pending={enable.pending}
              onClick={() => void enable.run({ channelId: c._id })}
            >
              Enable
            </RoleButton>
          )}
        </>
      }
    >
      <InlineError error={enable.error ?? disable.error ?? remove.error} />
      {!c.enabled ? (
        <p className="small muted">While disabled, its webhook answers 404 and nothing reaches the agent.</p>
      ) : null}
      {c.enabled && missing.length > 0 ? (
        <Notice tone="warn">
          Missing secret{missing.length > 1 ? "s" : ""}: {missing.join(", ")}. Webhooks will be refused until{" "}
          {missing.length > 1 ? "they are" : "it is"} set.
        </Notice>
      ) : null}
      <ChannelSetup c={c} />
      <h3>Who may talk to the agent</h3>
      <SenderPolicySelect channelId={c._id} policy={policy} />
      <PairingCode channelId={c._id} channelName={c.name} />
      <h3>Secrets</h3>
      <SecretsEditor
        names={c.secretNames}
        list={secrets}
        onSet={(name, value) => setSecret.run({ channelId: c._id, name, value })}
        onDelete={(name) => delSecret.run({ channelId: c._id, name })}
      />
      <details className="mt2">
        <summary>Settings and users</summary>
        <SettingsForm c={c} />
        <ChannelUsers channelId={c._id} />
        <div className="row mt2">
          {confirm ? (
            <>
              <span className="small">Delete this channel and its secrets?</span>
              <RoleButton
                need="admin"
                variant="danger"
                pending={remove.pending}
                onClick={() => void remove.run({ channelId: c._id })}
              >
                Yes, delete
              </RoleButton>
              <Button variant="ghost" onClick={() => setConfirm(false)}>
                Cancel
              </Button>
            </>
          ) : (
            <RoleButton need="admin" variant="danger" onClick={() => setConfirm(true)}>
              Delete channel
            </RoleButton>
          )}
        </div>
      </details>
    </Card>
  );
}

function SettingsForm({ c }: { c: Channel }) {
  const update = useMutate(api.channels.manage.update);
  const [values, setValues] = useState<Record<string, string>>({ ...c.settings });
  const canEdit = useCan("admin");
  const [saved, setSaved] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const settings: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if (v.trim()) settings[k] = v.trim();
    const r = await update.run({ channelId: c._id, settings });
    setSaved(r.ok);
  };
  return (
    <form onSubmit={submit} className="mt2" noValidate>
      <div className="form-row">
        {SETTINGS[c.platform].map((f) => (
          <Field
            key={f.key}
            label={f.label}
            error={
              update.error?.field === f.key ? (
                <>
                  {friendly(update.error.code)} <code>{update.error.code}</code>
                </>
              ) : undefined
            }
          >
            {(p) => (
              <Input
                {...p}
                value={values[f.key] ?? ""}
                placeholder={f.placeholder}
                onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
                readOnly={!canEdit}
              />
            )}
          </Field>
        ))}
      </div>
      {update.error && !SETTINGS[c.platform].some((f) => f.key === update.error?.field) ? (
        <InlineError error={update.error} />
      ) : null}
      <RoleButton need="admin" hideWhenLocked type="submit" pending={update.pending}>
        Save settings
      </RoleButton>
      {saved ? (
        <span className="small" role="status">
          {" "}
          Saved.
        </span>
      ) : null}
    </form>
  );
}

function ChannelUsers({ channelId }: { channelId: Id<"channelConfig"> }) {
  const users = useLoad(api.channels.users.list, { channelId, limit: 50 });
  const trust = useLoad(api.agency.board.senderTrust, { channelId });
  const trustOf = (id: Id<"channelUsers">) =>
    trust.status === "ok" ? trust.data.find((t) => t.channelUserId === id) : undefined;
  const block = useMutate(api.channels.users.block);
  const unblock = useMutate(api.channels.users.unblock);
  if (users.status === "loading") return <Loading />;
  if (users.status === "error") return <InlineError error={users.error} />;
  if (users.data.length === 0) return <p className="small muted mt2">Nobody has written to this channel yet.</p>;
  return (
    <div className="table-wrap mt2">
      <table>
        <caption className="sr-only">People who wrote to this channel</caption>
        <thead>
          <tr>
            <th scope="col">User</th>
            <th scope="col">Last seen</th>
            <th scope="col">Trust</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {users.data.map((u) => (
            <tr key={u._id}>
              <td className="small">
                {u.displayName ? <strong>{u.displayName}</strong> : null}{" "}
                <span className="mono muted">{u.platformUserId}</span>
              </td>
              <td className="small">{relative(u.lastSeenAt)}</td>
              <td>
                <TrustCell t={trustOf(u._id)} />
              </td>
              <td>{u.blocked ? <Badge tone="danger">blocked</Badge> : <Badge tone="ok">allowed</Badge>}</td>
              <td>
                <div className="row nowrap-row">
                  <TrustActions channelUserId={u._id} who={u.displayName ?? u.platformUserId} t={trustOf(u._id)} />
                  {u.blocked ? (
                    <RoleButton
                      need="admin"
                      className="btn-small"
                      onClick={() => void unblock.run({ channelUserId: u._id })}
                    >
                      Unblock
                    </RoleButton>
                  ) : (
                    <RoleButton
                      need="admin"
                      variant="danger"
                      className="btn-small"
                      onClick={() => void block.run({ channelUserId: u._id })}
                    >
                      Block
                    </RoleButton>
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <InlineError error={block.error ?? unblock.error} />
    </div>
  );
}

function AddChannel() {
  const create = useMutate(api.channels.manage.create);
  const [platform, setPlatform] = useState<Platform>(PLATFORMS[0]);
  const [name, setName] = useState("");
  const [values, setValues] = useState<Record<string, string>>({});
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const settings: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if (v.trim()) settings[k] = v.trim();
    const r = await create.run({ platform, name: name.trim(), settings });
    if (r.ok) {
      setName("");
      setValues({});
    }
  };
  const err = create.error;
  return (
    <Card title="Add a channel">
      <form onSubmit={submit} noValidate>
        <div className="form-row">
          <Field label="Platform">
            {(p) => (
              <Select
                {...p}
                value={platform}
                onChange={(e) => {
                  setPlatform(e.target.value as Platform);
                  setValues({});
                }}
              >
                {PLATFORM_CATALOG.map((e) => (
                  <option key={e.platform} value={e.platform}>
                    {e.label}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Name" error={err?.field === "name" ? "Use 1–80 characters." : undefined}>
            {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="Support bot" />}
          </Field>
          {SETTINGS[platform].map((f) => (
            <Field
              key={f.key}
              label={`${f.label}${f.required ? "" : " (optional)"}`}
              error={
                err?.field === f.key ? (
                  <>
                    {friendly(err.code)} <code>{err.code}</code>
                  </>
                ) : undefined
              }
            >
              {(p) => (
                <Input
                  {...p}
                  value={values[f.key] ?? ""}
                  placeholder={f.placeholder}
                  onChange={(e) => setValues({ ...values, [f.key]: e.target.value })}
                />
              )}
            </Field>
          ))}
        </div>
        <p className="small muted">
          Tokens and signing secrets are not settings: you set them as write-only secrets after the channel is created.
        </p>
        {err && err.field !== "name" && !SETTINGS[platform].some((f) => f.key === err.field) ? (
          <InlineError error={err} />
        ) : null}
        <RoleButton need="admin" type="submit" variant="primary" pending={create.pending} disabled={!name.trim()}>
          Add channel
        </RoleButton>
      </form>
    </Card>
  );
}
