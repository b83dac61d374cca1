/**
 * Answers an OpenAI-compatible chat request the way a real provider does: a JSON completion, or,
 * when the request asks for `stream: true` (the agent always does), server-sent events with the
 * content split into small deltas, tool calls in one delta, then usage and [DONE].
 */
import type { ServerResponse } from "node:http";

type Message = {
  content?: string | null;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
};

export type StreamOpts = {
  /** characters per content delta (default 5) */
  chunkChars?: number;
  /** ms between deltas (default 0: all at once) */
  delayMs?: number;
  /** awaited before each delta after the first (lets a test look at the half-written reply) */
  gate?: (index: number) => Promise<void> | void;
};

const usage = { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 };

export async function replyChat(
  res: ServerResponse,
  request: { stream?: boolean },
  message: Message,
  finish: string,
  opts: StreamOpts = {},
) {
  const base = { id: "chatcmpl-mock", created: 1, model: "mock-1" };
  if (!request?.stream) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: finish }],
        usage,
      }),
    );
    return;
  }
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    res.write(
      `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`,
    );
  send({ role: "assistant", content: "" });
  const content = message.content ?? "";
  const size = opts.chunkChars ?? 5;
  for (let i = 0, n = 0; i < content.length; i += size, n++) {
    if (n > 0) {
      if (opts.gate) await opts.gate(n);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    }
    if (res.destroyed) return;
    send({ content: content.slice(i, i + size) });
  }
  if (message.tool_calls?.length) send({ tool_calls: message.tool_calls.map((c, index) => ({ index, ...c })) });
  send({}, finish);
  res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage })}\n\n`);
  res.end("data: [DONE]\n\n");
}
