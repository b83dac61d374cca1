import { useState, type FormEvent } from "react";
import { api } from "../../../convex/_generated/api";
import { useMutate } from "../../lib/data";
import { friendly } from "../../lib/errors";
import { useCan } from "../../auth/role";
import { Card, Field, InlineError, Input, Notice, RoleButton, TextArea } from "../../ui/kit";
import type { Skill } from "./status";

export function ConfigCard({ skill }: { skill: Skill }) {
  const update = useMutate(api.skills.registry.update);
  const canEdit = useCan("admin") && skill.type !== "code";
  const [description, setDescription] = useState(skill.description);
  const [config, setConfig] = useState(JSON.stringify(skill.config, null, 2));
  const [rate, setRate] = useState(skill.rateLimitPerMinute ? String(skill.rateLimitPerMinute) : "");
  const [timeout, setTimeoutMs] = useState(String(skill.timeoutMs));
  const [maxOut, setMaxOut] = useState(String(skill.maxOutputBytes));
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [saved, setSaved] = useState<string | null>(null);

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(config);
      setJsonError(null);
    } catch {
      setJsonError("This isn't valid JSON.");
      return;
    }
    const r = await update.run({
      skillId: skill._id,
      description,
      config: parsed,
      rateLimitPerMinute: rate.trim() === "" ? null : Number(rate),
      timeoutMs: Number(timeout),
      maxOutputBytes: Number(maxOut),
    });
    if (r.ok)
      setSaved(
        r.value.status === "pending" && skill.status !== "pending"
          ? "Saved. The change sent this skill back to review."
          : "Saved.",
      );
  };
  const fieldErr = (f: string) => {
    const e = update.error;
    if (!e) return undefined;
    const hit = (e.errors ?? [e]).find((x) => x.field === f || (f === "config" && x.field?.startsWith("config")));
    return hit ? (
      <>
        {friendly(hit.code)} <code>{hit.code}</code>
        {hit.field && hit.field !== f ? <> ({hit.field})</> : null}
      </>
    ) : undefined;
  };
  return (
    <Card title="Configuration">
      {skill.type === "code" ? (
        <Notice>Code skills are defined in the repository; only limits and domains can be tuned here.</Notice>
      ) : null}
      {skill.status === "approved" && canEdit ? (
        <Notice tone="warn" title="Changes need a new review">
          Saving a change to the description, configuration or limits sends this approved skill back to “pending” until
          an admin approves it again.
        </Notice>
      ) : null}
      <form onSubmit={save} noValidate>
        <Field label="Description" error={fieldErr("description")}>
          {(p) => (
            <TextArea
              {...p}
              value={description}
              onChange={(e) => setDescription(e.target.value)}
              readOnly={!canEdit}
              rows={2}
            />
          )}
        </Field>
        <Field
          label="Configuration (JSON)"
          error={jsonError ?? fieldErr("config")}
          hint="Secrets never go here: reference them by name (secretHeaders) and set their values below."
        >
          {(p) => (
            <TextArea
              {...p}
              className="input mono"
              value={config}
              onChange={(e) => setConfig(e.target.value)}
              readOnly={!canEdit}
              rows={8}
              spellCheck={false}
            />
          )}
        </Field>
        <div className="form-row">
          <Field label="Rate per minute" hint="Empty = workspace default" error={fieldErr("rateLimitPerMinute")}>
            {(p) => (
              <Input
                {...p}
                inputMode="numeric"
                value={rate}
                onChange={(e) => setRate(e.target.value)}
                readOnly={!canEdit}
              />
            )}
          </Field>
          <Field label="Timeout (ms)" hint="100 – 60,000" error={fieldErr("timeoutMs")}>
            {(p) => (
              <Input
                {...p}
                inputMode="numeric"
                value={timeout}
                onChange={(e) => setTimeoutMs(e.target.value)}
                readOnly={!canEdit}
              />
            )}
          </Field>
          <Field label="Max output (bytes)" hint="256 – 1,048,576" error={fieldErr("maxOutputBytes")}>
            {(p) => (
              <Input
                {...p}
                inputMode="numeric"
                value={maxOut}
                onChange={(e) => setMaxOut(e.target.value)}
                readOnly={!canEdit}
              />
            )}
          </Field>
        </div>
        {update.error &&
        !["description", "config", "rateLimitPerMinute", "timeoutMs", "maxOutputBytes"].some((f) =>
          update.error?.field?.startsWith(f),
        ) ? (
          <InlineError error={update.error} />
        ) : null}
        <div className="row">
          <RoleButton
            need="admin"
            type="submit"
            variant="primary"
            pending={update.pending}
            disabled={skill.type === "code"}
          >
            Save configuration
          </RoleButton>
          {saved ? (
            <span role="status" className="small">
              {saved}
            </span>
          ) : null}
        </div>
      </form>
    </Card>
  );
}
