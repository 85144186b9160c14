// Decoding of frames on both ends: JSON parse + schema validation, with an error that
// says which path was wrong, so a bad frame can be logged and refused precisely.
import type { z } from 'zod';
import { issuePath } from '@canh/core';
import { AgentMessageSchema, CollectorMessageSchema, type AgentMessage, type CollectorMessage } from './messages.ts';
import { fastBatch } from './fast-batch.ts';

export class ProtocolError extends Error {
  readonly code = 'CANH_ERR_PROTOCOL_INVALID_MESSAGE';
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

export function formatIssues(error: z.ZodError, max = 5): string {
  return error.issues
    .slice(0, max)
    .map((i) => `${issuePath(i.path)}: ${i.message}`)
    .join('; ');
}

function parseJson(data: string | Buffer): unknown {
  try {
    return JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch {
    throw new ProtocolError('frame is not valid JSON');
  }
}

function validate<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ProtocolError(formatIssues(r.error));
  return r.data;
}

export function decodeAgentMessage(data: string | Buffer): AgentMessage {
  const raw = parseJson(data);
  return fastBatch(raw) ?? validate(AgentMessageSchema, raw);
}

export function decodeCollectorMessage(data: string | Buffer): CollectorMessage {
  return validate(CollectorMessageSchema, parseJson(data));
}

export function encode(msg: AgentMessage | CollectorMessage | Record<string, unknown>): string {
  return JSON.stringify(msg);
}
