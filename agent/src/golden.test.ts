// The agent decodes every collector → agent golden frame of the protocol.
import { describe, expect, it } from 'vitest';
import { decodeCollectorMessage } from '@canh/protocol';
import { goldenFrames } from '@canh/protocol/testdata';

describe('agent decodes collector golden frames', () => {
  for (const f of goldenFrames('valid').filter((f) => ['welcome', 'ack', 'error'].includes(f.name))) {
    it(f.name, () => expect(decodeCollectorMessage(f.text).type).toBe(f.name));
  }
  it('refuses agent-side messages sent the wrong way', () => {
    const hello = goldenFrames('valid').find((f) => f.name === 'hello')!;
    expect(() => decodeCollectorMessage(hello.text)).toThrow();
  });
});
