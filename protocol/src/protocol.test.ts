import { describe, expect, it } from 'vitest';
import { AgentMessageSchema, CollectorMessageSchema, decodeAgentMessage, decodeCollectorMessage, ProtocolError, CloseCode, closeCodeName } from './index.ts';
import { goldenFrames } from './testdata.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

describe('golden frames', () => {
  const valid = goldenFrames('valid');
  it('has a frame for every message type', () => {
    expect(valid.map((v) => JSON.parse(v.text).type).sort()).toEqual(['ack', 'batch', 'config_result', 'error', 'hello', 'welcome']);
  });
  for (const f of valid) {
    it(`decodes ${f.name} on exactly one side`, () => {
      const type = JSON.parse(f.text).type as string;
      const agentSide = AgentMessageSchema.safeParse(JSON.parse(f.text)).success;
      const collectorSide = CollectorMessageSchema.safeParse(JSON.parse(f.text)).success;
      expect(agentSide !== collectorSide).toBe(true);
      const msg = agentSide ? decodeAgentMessage(f.text) : decodeCollectorMessage(f.text);
      expect(msg.type).toBe(type);
    });
  }
  for (const f of goldenFrames('invalid')) {
    it(`refuses ${f.name} with a path-named reason`, () => {
      expect(() => decodeAgentMessage(f.text)).toThrow(ProtocolError);
      try {
        decodeAgentMessage(f.text);
      } catch (err) {
        expect((err as Error).message.length).toBeGreaterThan(5);
      }
    });
  }
  it('names the failing path', () => {
    expect(() => decodeAgentMessage('{"type":"batch","seq":1,"points":[{"name":"cpu","time":1,"fields":{}}]}')).toThrow(/points\[0\]\.fields/);
  });
});

describe('close codes', () => {
  it('every code is documented in the README', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    for (const [name, code] of Object.entries(CloseCode)) {
      expect(readme).toContain(`| ${code} | ${name} |`);
      expect(closeCodeName(code)).toBe(name);
    }
  });
  it('application codes are in 4000-4999', () => {
    for (const [name, code] of Object.entries(CloseCode)) if (name !== 'MESSAGE_TOO_LARGE') expect(code).toBeGreaterThanOrEqual(4000);
  });
});
