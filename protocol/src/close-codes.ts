// Application close codes (4000–4999) a collector uses to end an agent connection.
// Each is documented in protocol/README.md; agents decide from the code whether to retry.

export const CloseCode = {
  /** The token was revoked while the agent was connected. Do not retry until reconfigured. */
  UNAUTHORIZED: 4001,
  /** The agent speaks a protocol version this collector does not. */
  UNSUPPORTED_VERSION: 4002,
  /** A message failed validation (bad JSON, unknown type, wrong shape). */
  INVALID_MESSAGE: 4003,
  /** A message larger than the collector accepts is closed with the standard 1009
   *  (Message Too Big) by the WebSocket layer itself, before it is buffered whole. */
  MESSAGE_TOO_LARGE: 1009,
  /** The agent sent faster than its per-agent limit. Retry after backoff. */
  RATE_LIMITED: 4005,
  /** A newer connection of the same agent replaced this one. Do not reconnect from this process. */
  REPLACED: 4006,
  /** No hello within the allowed time after the upgrade. */
  HELLO_TIMEOUT: 4007,
  /** The collector is shutting down. Reconnect with backoff. */
  GOING_AWAY: 4008,
  /**
   * Sent by the agent: the collector acked a seq that was not in flight on this connection
   * (never sent, or ahead of what was sent). The agent keeps its spool and reconnects.
   */
  UNKNOWN_ACK: 4009,
} as const;
export type CloseCodeName = keyof typeof CloseCode;

/** Close codes after which reconnecting is pointless without operator action. */
export const FATAL_CLOSE_CODES: ReadonlySet<number> = new Set([CloseCode.UNAUTHORIZED, CloseCode.UNSUPPORTED_VERSION]);

export function closeCodeName(code: number): string {
  for (const [k, v] of Object.entries(CloseCode)) if (v === code) return k;
  return String(code);
}
