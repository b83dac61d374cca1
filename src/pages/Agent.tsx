import { useState, type FormEvent } from "react";
import { usePaginatedQuery } from "convex/react";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { useLoad, useMutate } from "../lib/data";
import { friendly } from "../lib/errors";
import { dateTime, num } from "../lib/format";
import { Link } from "../lib/router";
import { useCan } from "../auth/role";
import {
  Card,
  ErrorState,
  Field,
  InlineError,
  Input,
  Loading,
  Notice,
  PageHeader,
  RoleButton,
  Select,
  TextArea,
} from "../ui/kit";

type Config = {
  name: string;
  soul: string;
  model: string;
  fallbackModel?: string;
  providerId?: Id<"modelProviders">;
  fallbackProviderId?: Id<"modelProviders">;
  enabledSkillIds: Id<"skillRegistry">[];
  enabledMcpServerIds: Id<"mcpServers">[];
  updatedAt: number;
  persisted: boolean;
};

export function AgentPage() {
  const cfg = useLoad(api.agent.config.get, {});
  return (
    <>
      <PageHeader
        title="Agent"
        description="Who the agent is, which model answers, and which approved tools it may use."
      />
      {cfg.status === "loading" ? <Loading /> : null}
      {cfg.status === "error" ? <ErrorState error={cfg.error} /> : null}
      {cfg.status === "ok" ? (
        <div className="stack">
          <AgentForm key={cfg.data.updatedAt} cfg={cfg.data} />
          <ChatSettings />
        </div>
      ) : null}
    </>
  );
}

function fieldMsg(err: { code: string; field?: string } | null, field: string, text: string) {
  if (!err || err.field !== field) return undefined;
  return (
    <>
      {err.code === "CONFIG_INVALID" ? text : friendly(err.code)} <code>{err.code}</code>
    </>
  );
}

function AgentForm({ cfg }: { cfg: Config }) {
  const update = useMutate(api.agent.config.update);
  const providers = useLoad(api.agent.providers.list, {});
  const skills = usePaginatedQuery(api.skills.registry.list, { status: "approved" }, { initialNumItems: 100 });
  const canEdit = useCan("owner");
  const [name, setName] = useState(cfg.name);
  const [soul, setSoul] = useState(cfg.soul);
  const [model, setModel] = useState(cfg.model);
  const [providerId, setProviderId] = useState<string>(cfg.providerId ?? "");
  const [fallbackModel, setFallbackModel] = useState(cfg.fallbackModel ?? "");
  const [fallbackProviderId, setFallbackProviderId] = useState<string>(cfg.fallbackProviderId ?? "");
  const [enabled, setEnabled] = useState<Set<string>>(new Set(cfg.enabledSkillIds));
  const [saved, setSaved] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const r = await update.run({
      name,
      soul,
      model,
      providerId: providerId ? (providerId as Id<"modelProviders">) : null,
      fallbackModel: fallbackModel.trim() ? fallbackModel.trim() : null,
      fallbackProviderId: fallbackProviderId ? (fallbackProviderId as Id<"modelProviders">) : null,
      enabledSkillIds: [...enabled] as Id<"skillRegistry">[],
    });
    if (r.ok) setSaved(true);
  };
  const err = update.error;
  const providerOptions = providers.status === "ok" ? providers.data : [];
  return (
    <Card title="Identity and model">
      {!canEdit ? <Notice>Only owners can change the agent. You can see its current settings.</Notice> : null}
      {!cfg.persisted ? (
        <Notice>
          The agent uses the defaults until you save. The default model is the offline model: no key, no network,
          deterministic answers.
        </Notice>
      ) : null}
      <form onSubmit={submit} noValidate>
        <Field label="Name" error={fieldMsg(err, "name", "Use 1–80 characters.")}>
          {(p) => <Input {...p} value={name} onChange={(e) => setName(e.target.value)} readOnly={!canEdit} />}
        </Field>
        <Field
          label="Soul (system prompt)"
          hint={`${num(soul.length)} / 8,000 characters. Don't put secrets or personal data here.`}
          error={fieldMsg(err, "soul", "Use 1–8,000 characters.")}
        >
          {(p) => (
            <TextArea {...p} rows={6} value={soul} onChange={(e) => setSoul(e.target.value)} readOnly={!canEdit} />
          )}
        </Field>
        <div className="form-row">
          <Field label="Model provider" hint={<Link to="/providers">Manage providers</Link>}>
            {(p) => (
              <Select {...p} value={providerId} onChange={(e) => setProviderId(e.target.value)} disabled={!canEdit}>
                <option value="">Offline (built in)</option>
                {providerOptions.map((pr) => (
                  <option key={pr._id} value={pr._id}>
                    {pr.label} ({pr.kind}){pr.keyConfigured ? "" : " — key not set"}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field
            label="Model"
            hint="e.g. gpt-4o-mini, claude-3-5-haiku-latest, or offline"
            error={fieldMsg(err, "model", "That isn't a valid model name.")}
          >
            {(p) => (
              <Input
                {...p}
                value={model}
                onChange={(e) => setModel(e.target.value)}
                readOnly={!canEdit}
                spellCheck={false}
              />
            )}
          </Field>
        </div>
        <div className="form-row">
          <Field label="Fallback provider" hint="Used when the main model fails">
            {(p) => (
              <Select
                {...p}
                value={fallbackProviderId}
                onChange={(e) => setFallbackProviderId(e.target.value)}
                disabled={!canEdit}
              >
                <option value="">Offline (built in)</option>
                {providerOptions.map((pr) => (
                  <option key={pr._id} value={pr._id}>
                    {pr.label} ({pr.kind})
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field
            label="Fallback model"
            hint="Empty = no fallback"
            error={fieldMsg(err, "fallbackModel", "That isn't a valid model name.")}
          >
            {(p) => (
              <Input
                {...p}
                value={fallbackModel}
                onChange={(e) => setFallbackModel(e.target.value)}
                readOnly={!canEdit}
                spellCheck={false}
              />
            )}
          </Field>
        </div>
        <fieldset>
          <legend>Skills the agent may call</legend>
          {skills.status === "LoadingFirstPage" ? (
            <Loading />
          ) : skills.results.length === 0 ? (
            <p className="small muted mb0">
              No approved skills yet. <Link to="/skills">Approve a skill</Link> to offer it to the agent.
            </p>
          ) : (
            skills.results.map((s) => (
              <label key={s._id} className="checkbox">
                <input
                  type="checkbox"
                  checked={enabled.has(s._id)}
                  disabled={!canEdit}
                  onChange={(e) => {
                    const next = new Set(enabled);
                    if (e.target.checked) next.add(s._id);
                    else next.delete(s._id);
                    setEnabled(next);
                  }}
                />
                {s.name} <span className="small muted">— {s.description.slice(0, 80)}</span>
              </label>
            ))
          )}
        </fieldset>
        {err && !["name", "soul", "model", "fallbackModel"].includes(err.field ?? "") ? (
          <InlineError error={err} />
        ) : null}
        <div className="row">
          <RoleButton need="owner" hideWhenLocked type="submit" variant="primary" pending={update.pending}>
            Save agent
          </RoleButton>
          {saved ? (
            <span role="status" className="small">
              Saved.
            </span>
          ) : cfg.persisted ? (
            <span className="small muted">Last saved {dateTime(cfg.updatedAt)}</span>
          ) : null}
        </div>
      </form>
    </Card>
  );
}

function ChatSettings() {
  const s = useLoad(api.chat.owner.settings, {});
  const set = useMutate(api.chat.owner.setMaxMessageChars);
  const [value, setValue] = useState<string | null>(null);
  const canEdit = useCan("admin");
  if (s.status !== "ok") return s.status === "error" ? <ErrorState error={s.error} /> : <Loading />;
  const v = value ?? String(s.data.maxMessageChars);
  return (
    <Card title="Public chat">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void set.run({ maxMessageChars: Number(v) }).then((r) => r.ok && setValue(null));
        }}
        noValidate
      >
        <Field
          label="Longest message a visitor may send (characters)"
          hint={`Default ${num(s.data.defaultMaxMessageChars)}, at most ${num(s.data.ceiling)}.`}
          error={
            set.error ? (
              <>
                {set.error.code === "CONFIG_INVALID"
                  ? `Enter a whole number from 1 to ${num(s.data.ceiling)}.`
                  : friendly(set.error.code)}{" "}
                <code>{set.error.code}</code>
              </>
            ) : undefined
          }
        >
          {(p) => (
            <Input
              {...p}
              className="input num-input"
              inputMode="numeric"
              value={v}
              onChange={(e) => setValue(e.target.value)}
              readOnly={!canEdit}
            />
          )}
        </Field>
        <RoleButton
          need="admin"
          hideWhenLocked
          type="submit"
          variant="primary"
          pending={set.pending}
          disabled={v === String(s.data.maxMessageChars)}
        >
          Save
        </RoleButton>
      </form>
    </Card>
  );
}
