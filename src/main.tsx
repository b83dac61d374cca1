import { StrictMode, Suspense, lazy, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import "./styles.css";
import { loadConfig, type WardenConfig } from "./lib/config";
import { usePath } from "./lib/router";
import { errorInfo } from "./lib/errors";
import { ErrorState, Loading } from "./ui/kit";
import { initTheme } from "./lib/theme";

initTheme();

const Board = lazy(() => import("./Board"));
const ChatApp = lazy(() => import("./chat/ChatApp"));

function Root() {
  const [cfg, setCfg] = useState<WardenConfig | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const path = usePath();
  useEffect(() => {
    loadConfig().then(setCfg, setErr);
  }, []);
  if (err) {
    return (
      <div className="center-page">
        <ErrorState
          title="Warden can't start"
          error={err instanceof Error && err.message === "CONFIG_MISSING" ? { code: "CONFIG_MISSING" } : errorInfo(err)}
        />
      </div>
    );
  }
  if (!cfg) {
    return (
      <div className="center-page">
        <Loading label="Starting Warden…" />
      </div>
    );
  }
  const isChat = path === "/chat" || path.startsWith("/chat/");
  return (
    <Suspense
      fallback={
        <div className="center-page">
          <Loading />
        </div>
      }
    >
      {isChat ? <ChatApp cfg={cfg} /> : <Board cfg={cfg} />}
    </Suspense>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
