/**
 * Inbound payloads (pure; no Convex imports): dispatch to the vendor adapter's parser. Only
 * called on requests whose signature already verified: every id returned is a verified platform id.
 * The schemas live with their vendor in ./platforms/<vendor>.ts.
 */
import { ADAPTERS, isPlatform, type Platform } from "./platforms/index";
import { INVALID } from "./platforms/kit";
import type { ParseInput, ParseResult } from "./platforms/types";

export type { InboundAction, InboundUser, ParseInput, ParseResult } from "./platforms/types";
export { MAX_MESSAGE_CHARS, pseudonym } from "./platforms/kit";

export function parseInbound(platform: Platform, input: ParseInput): ParseResult {
  return isPlatform(platform) ? ADAPTERS[platform].parse(input) : INVALID;
}
