#!/usr/bin/env node
// The real-Convex development path: `npx convex dev` (pushes convex/ to your deployment) and the
// Vite dev server for SyncBoard, side by side. Needs CONVEX_DEPLOYMENT (run `npx convex dev` once to log in).
import { spawn } from "node:child_process";

if (!process.env.CONVEX_DEPLOYMENT && !process.env.CONVEX_URL) {
  console.error("No CONVEX_DEPLOYMENT/CONVEX_URL configured. Use `npm start` for the embedded local runtime,");
  console.error("or run `npx convex dev` once to connect a Convex deployment.");
  process.exit(1);
}
const children = [spawn("npx", ["convex", "dev"], { stdio: "inherit" }), spawn("npx", ["vite"], { stdio: "inherit" })];
const stop = () => children.forEach((c) => c.kill("SIGTERM"));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
for (const c of children)
  c.on("exit", (code) => {
    if (code) {
      stop();
      process.exit(code);
    }
  });
