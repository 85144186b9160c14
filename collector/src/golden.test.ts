// The collector decodes every agent → collector golden frame and refuses the invalid ones.
import { describe, expect, it } from 'vitest';
import { decodeAgentMessage } from '@canh/protocol';
import { goldenFrames } from '@canh/protocol/testdata';

describe('collector decodes agent golden frames', () => {
  for (const f of goldenFrames('valid').filter((f) => ['hello', 'batch', 'config_result'].includes(f.name))) {
    it(f.name, () => expect(decodeAgentMessage(f.text).type).toBe(f.name));
  }
  for (const f of goldenFrames('invalid')) {
    it(`refuses ${f.name}`, () => expect(() => decodeAgentMessage(f.text)).toThrow());
  }
});
