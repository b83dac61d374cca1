/** Query/mutation hooks that hand back loading/error/data instead of throwing into the render. */
import { useCallback, useMemo, useState } from "react";
import { useAction, useMutation, useQueries } from "convex/react";
import { getFunctionName, type FunctionArgs, type FunctionReference, type FunctionReturnType } from "convex/server";
import { errorInfo, type ErrorInfo } from "./errors";
import { toast } from "../ui/Toast";

export type Loadable<T> = { status: "loading" } | { status: "error"; error: ErrorInfo } | { status: "ok"; data: T };

export function useLoad<Q extends FunctionReference<"query">>(
  query: Q,
  args: FunctionArgs<Q> | "skip",
): Loadable<FunctionReturnType<Q>> {
  const name = getFunctionName(query);
  const key = args === "skip" ? null : JSON.stringify(args);
  const request = useMemo(
    () => (args === "skip" ? {} : { q: { query, args: args as Record<string, unknown> } }),
    [name, key],
  );
  const result = useQueries(request as any) as Record<string, unknown>;
  if (args === "skip") return { status: "loading" };
  const v = result.q;
  if (v === undefined) return { status: "loading" };
  if (v instanceof Error) return { status: "error", error: errorInfo(v) };
  return { status: "ok", data: v as FunctionReturnType<Q> };
}

export type RunResult<T> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/** A value like `{ ok: false, code }`: the server said no without throwing. */
const refused = (v: unknown) => !!v && typeof v === "object" && (v as { ok?: unknown }).ok === false;

function useRunner<A, T>(call: (args: A) => Promise<T>, success?: string | false) {
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<ErrorInfo | null>(null);
  const run = useCallback(
    async (args: A): Promise<RunResult<T>> => {
      setPending(true);
      setError(null);
      try {
        const value = await call(args);
        if (success && !refused(value)) toast(success);
        return { ok: true, value };
      } catch (e) {
        const info = errorInfo(e);
        setError(info);
        return { ok: false, error: info };
      } finally {
        setPending(false);
      }
    },
    [call, success],
  );
  return { run, pending, error, clear: useCallback(() => setError(null), []) };
}

/** A mutation with loading/error state; a change that went through shows a toast ("Saved." unless told otherwise; false for none). */
export function useMutate<M extends FunctionReference<"mutation">>(fn: M, opts: { toast?: string | false } = {}) {
  const m = useMutation(fn);
  return useRunner<FunctionArgs<M>, FunctionReturnType<M>>(
    m as unknown as (a: FunctionArgs<M>) => Promise<FunctionReturnType<M>>,
    opts.toast === undefined ? "Saved." : opts.toast,
  );
}

export function useAct<A extends FunctionReference<"action">>(fn: A) {
  const a = useAction(fn);
  return useRunner<FunctionArgs<A>, FunctionReturnType<A>>(
    a as unknown as (a: FunctionArgs<A>) => Promise<FunctionReturnType<A>>,
  );
}
