import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import { useLoad, useMutate } from "../lib/data";
import { friendly } from "../lib/errors";
import { duration, num } from "../lib/format";
import { useCan } from "../auth/role";
import { Badge, DataTable, ErrorState, Input, Loading, PageHeader, RoleButton, Select } from "../ui/kit";

type LimitRow = {
  name: string;
  label: string;
  defaultRate: number;
  defaultPeriodMs: number;
  rate: number;
  periodMs: number;
  overridden: boolean;
};

const UNITS = [
  { ms: 1000, label: "seconds" },
  { ms: 60_000, label: "minutes" },
  { ms: 3_600_000, label: "hours" },
];

function splitPeriod(ms: number): { amount: string; unit: number } {
  for (const u of [...UNITS].reverse()) if (ms % u.ms === 0) return { amount: String(ms / u.ms), unit: u.ms };
  return { amount: String(ms / 1000), unit: 1000 };
}

export function LimitsPage() {
  const limits = useLoad(api.limits.manage.list, {});
  return (
    <>
      <PageHeader
        title="Rate limits"
        description="Every limit is on and can't be switched off. Changes apply to the next call. Hits are logged as security events."
      />
      {limits.status === "loading" ? <Loading /> : null}
      {limits.status === "error" ? <ErrorState error={limits.error} /> : null}
      {limits.status === "ok" ? (
        <DataTable columns={["Limit", "Allowed", "Default"]} actions>
          {limits.data.map((l) => (
            <LimitEditor key={`${l.name}:${l.rate}:${l.periodMs}`} limit={l} />
          ))}
        </DataTable>
      ) : null}
    </>
  );
}

function LimitEditor({ limit }: { limit: LimitRow }) {
  const set = useMutate(api.limits.manage.set);
  const reset = useMutate(api.limits.manage.reset);
  const canEdit = useCan("admin");
  const init = splitPeriod(limit.periodMs);
  const [rate, setRate] = useState(String(limit.rate));
  const [amount, setAmount] = useState(init.amount);
  const [unit, setUnit] = useState(init.unit);
  const [saved, setSaved] = useState(false);
  const dirty = rate !== String(limit.rate) || Number(amount) * unit !== limit.periodMs;
  const save = async (e: FormEvent) => {
    e.preventDefault();
    setSaved(false);
    const r = await set.run({ name: limit.name, rate: Number(rate), periodMs: Math.round(Number(amount) * unit) });
    if (r.ok) setSaved(true);
  };
  const err = set.error ?? reset.error;
  const id = `limit-${limit.name}`;
  return (
    <tr>
      <td>
        <strong id={`${id}-label`} title={limit.name}>
          {limit.label}
        </strong>
        {limit.overridden ? <Badge tone="accent">custom</Badge> : null}
      </td>
      <td>
        <form onSubmit={save} className="row limit-form" aria-labelledby={`${id}-label`} id={`${id}-form`} noValidate>
          <label className="sr-only" htmlFor={`${id}-rate`}>
            {limit.label}: number allowed
          </label>
          <Input
            id={`${id}-rate`}
            className="input num-input"
            inputMode="numeric"
            value={rate}
            onChange={(e) => setRate(e.target.value)}
            readOnly={!canEdit}
            aria-invalid={err?.field === "rate" || undefined}
            aria-describedby={err ? `${id}-err` : undefined}
            data-limit={limit.name}
          />
          <span className="muted">per</span>
          <label className="sr-only" htmlFor={`${id}-amount`}>
            {limit.label}: period
          </label>
          <Input
            id={`${id}-amount`}
            className="input num-input"
            inputMode="numeric"
            value={amount}
            onChange={(e) => setAmount(e.target.value)}
            readOnly={!canEdit}
            aria-invalid={err?.field === "periodMs" || undefined}
          />
          <label className="sr-only" htmlFor={`${id}-unit`}>
            {limit.label}: period unit
          </label>
          <Select
            id={`${id}-unit`}
            className="input unit-select"
            value={unit}
            onChange={(e) => setUnit(Number(e.target.value))}
            disabled={!canEdit}
          >
            {UNITS.map((u) => (
              <option key={u.ms} value={u.ms}>
                {u.label}
              </option>
            ))}
          </Select>
        </form>
        {err ? (
          <p className="field-error" id={`${id}-err`} role="alert">
            {err.field === "rate" ? "Rate: " : err.field === "periodMs" ? "Period: " : ""}
            {err.code === "CONFIG_INVALID" && err.field === "rate"
              ? "Enter a whole number from 1 to 1,000,000."
              : err.code === "CONFIG_INVALID" && err.field === "periodMs"
                ? "Choose a period from 1 second to 24 hours."
                : friendly(err.code)}{" "}
            <code>{err.code}</code>
          </p>
        ) : null}
        {saved && !dirty ? (
          <p className="small mb0" role="status">
            Saved.
          </p>
        ) : null}
      </td>
      <td className="small muted nowrap">
        {num(limit.defaultRate)} per {duration(limit.defaultPeriodMs)}
      </td>
      <td>
        <div className="row">
          <RoleButton
            need="admin"
            hideWhenLocked
            type="submit"
            form={`${id}-form`}
            variant="primary"
            className="btn-small"
            pending={set.pending}
            disabled={!dirty}
          >
            Save
          </RoleButton>
          {limit.overridden ? (
            <RoleButton
              need="admin"
              hideWhenLocked
              variant="ghost"
              className="btn-small"
              pending={reset.pending}
              onClick={() => void reset.run({ name: limit.name })}
            >
              Reset
            </RoleButton>
          ) : null}
        </div>
      </td>
    </tr>
  );
}
