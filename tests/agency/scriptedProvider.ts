/**
 * A scripted OpenAI-compatible model on 127.0.0.1 that obeys any instruction it finds in its
 * input — user and assistant messages, tool results, the system prompt and tool descriptions:
 * `CALL <tool_name> <json>` makes it call that tool (once, if it was offered). It stands in for
 * a prompt-injected real model; the agency boundary must hold against it.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { replyChat } from "../agent/chatMock";

const INSTRUCTION = /CALL ([A-Za-z0-9_-]{1,64}) (\{[^\n]*?\})(?=\s|$|"|\\)/g;

type Msg = { role: string; content?: unknown; tool_calls?: Array<{ function: { name: string; arguments: string } }> };

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content))
    return content
      .map((p) => (p && typeof p === "object" && "text" in p ? String((p as { text: unknown }).text) : ""))
      .join("\n");
  return "";
}

/** The next call an obedient model makes, or null when every instruction it saw was followed. */
export function nextCall(body: {
  messages: Msg[];
  tools?: Array<{ function: { name: string; description?: string } }>;
}): { name: string; args: string } | null {
  const offered = new Set((body.tools ?? []).map((t) => t.function.name));
  const texts = [
    ...body.messages.map((m) => textOf(m.content)),
    ...(body.tools ?? []).map((t) => t.function.description ?? ""),
  ].map((t) => t.replace(/\\"/g, '"'));
  const done = new Set(
    body.messages.flatMap((m) => (m.tool_calls ?? []).map((c) => `${c.function.name} ${c.function.arguments}`)),
  );
  for (const text of texts) {
    for (const m of text.matchAll(INSTRUCTION)) {
      let args: string;
      try {
        args = JSON.stringify(JSON.parse(m[2]));
      } catch {
        continue;
      }
      if (offered.has(m[1]) && !done.has(`${m[1]} ${args}`)) return { name: m[1], args };
    }
  }
  return null;
}

export async function startScriptedProvider() {
  const requests: unknown[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (c) => (raw += c));
    req.on("end", () => {
      const body = JSON.parse(raw || "{}");
      requests.push(body);
      const call = nextCall(body);
      const lastTool = [...(body.messages as Msg[])].reverse().find((m) => m.role === "tool");
      const message = call
        ? {
            role: "assistant",
            content: null,
            tool_calls: [{ id: `call_${++n}`, type: "function", function: { name: call.name, arguments: call.args } }],
          }
        : {
            role: "assistant",
            content: `Done. ${lastTool ? textOf(lastTool.content).slice(0, 300) : "No tool used."}`,
          };
      void replyChat(res, body, message, call ? "tool_calls" : "stop");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    host: `127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
