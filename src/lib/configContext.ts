import { createContext, useContext } from "react";
import type { WardenConfig } from "./config";

export const ConfigContext = createContext<WardenConfig | null>(null);

export function useConfig(): WardenConfig {
  const c = useContext(ConfigContext);
  if (!c) throw new Error("useConfig outside ConfigContext");
  return c;
}
