/** Code skill: counts words, characters, lines and sentences. No network, no secrets. */
import type { CodeSkillMeta, SkillTools } from "./types";

export const skillMeta: CodeSkillMeta = {
  name: "word_count",
  description: "Count the words, characters, lines and sentences of a text.",
  inputSchema: {
    type: "object",
    properties: { text: { type: "string", maxLength: 20000 } },
    required: ["text"],
    additionalProperties: false,
  },
  permissions: { domains: [], secrets: [] },
  rateLimitPerMinute: 60,
  timeoutMs: 2000,
};

export function handler(input: { text: string }, _tools: SkillTools) {
  const text = input.text;
  const words = text.trim() === "" ? 0 : text.trim().split(/\s+/u).length;
  const sentences = (text.match(/[^.!?\s][^.!?]*(?:[.!?]+|$)/gu) ?? []).length;
  return {
    words,
    characters: [...text].length,
    lines: text === "" ? 0 : text.split(/\r\n|\r|\n/).length,
    sentences,
  };
}
