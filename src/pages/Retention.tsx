import { useState, type FormEvent } from "react";
import { api } from "../../convex/_generated/api";
import { useLoad, useMutate } from "../lib/data";
import { friendly } from "../lib/errors";
import { useCan } from "../auth/role";
import { Badge, Card, DataTable, ErrorState, Input, Loading, PageHeader, RoleButton } from "../ui/kit";

const TABLE_TEXT: Record<string, string> = {
  activityLog: "Activity feed",
  invocationLog: "Invocation log",
  securityEvents: "Security events",
  auditLog: "Audit log",
  messages: "Chat messages",
  conversations: "Conversations: threads, messages, chat sessions, channel users, voice sessions, delivery ids",
};

export function RetentionPage() {
  const rows = useLoad(api.logs.retention.list, {});
  return (
    <>
      <PageHeader
        title="Retention"
        description="How long logs and conversations are kept (defaults: logs 30 days, audit log 365, conversations 90). A daily background job deletes older rows in small batches; people idle longer than the conversation setting are removed with their threads."
      />
      <Card>
        {rows.status === "loading" ? <Loading /> : null}
        {rows.status === "error" ? <ErrorState error={rows.error} /> : null}
        {rows.status === "ok" ? (
          <DataTable columns={["Data", "Keep for"]} actions>
            {rows.data.map((r) => (
              <RetentionRow key={`${r.table}:${r.days}`} table={r.table} days={r.days} isDefault={r.isDefault} />
            ))}
          </DataTable>
        ) : null}
      </Card>
    </>
  );
}

function RetentionRow({ table, days, isDefault }: { table: string; days: number; isDefault: boolean }) {
  const set = useMutate(api.logs.retention.set);
  const [value, setValue] = useState(String(days));
  const canEdit = useCan("admin");
  const id = `ret-${table}`;
  const save = (e: FormEvent) => {
    e.preventDefault();
    void set.run({ table, days: Number(value) });
  };
  return (
    <tr>
      <td>
        <strong>{TABLE_TEXT[table] ?? table}</strong>
        <div className="small muted mono">{table}</div>
        {isDefault ? <Badge>default</Badge> : null}
      </td>
      <td>
        <form id={`${id}-form`} onSubmit={save} className="row" noValidate>
          <label htmlFor={id} className="sr-only">
            Days to keep {TABLE_TEXT[table] ?? table}
          </label>
          <Input
            id={id}
            className="input num-input"
            inputMode="numeric"
            value={value}
            onChange={(e) => setValue(e.target.value)}
            readOnly={!canEdit}
            aria-invalid={set.error ? true : undefined}
          />
          <span className="muted">days</span>
        </form>
        {set.error ? (
          <p className="field-error" role="alert">
            {set.error.code === "CONFIG_INVALID"
              ? "Enter a whole number of days from 1 to 3,650."
              : friendly(set.error.code)}{" "}
            <code>{set.error.code}</code>
          </p>
        ) : null}
      </td>
      <td>
        <RoleButton
          need="admin"
          type="submit"
          form={`${id}-form`}
          variant="primary"
          className="btn-small"
          pending={set.pending}
          disabled={value === String(days)}
        >
          Save
        </RoleButton>
      </td>
    </tr>
  );
}
