import { describe, expect, it } from 'vitest';
import { decodeCollectorMessage, encode } from '@canh/protocol';
import { quickAck } from './transport.ts';

describe('quickAck', () => {
  it('reads the acks the collector writes, as the schema does', () => {
    for (const seq of [0, 1, 42, 123_456_789_012]) {
      const frame = Buffer.from(encode({ type: 'ack', seq }));
      expect(quickAck(frame)).toBe(seq);
      expect(decodeCollectorMessage(frame)).toEqual({ type: 'ack', seq });
    }
  });
  it('leaves everything else to the full decoder', () => {
    for (const text of ['{"type":"ack","seq":-1}', '{"type":"ack","seq":1.5}', '{"type":"ack","seq":1,"x":1}', '{"seq":1,"type":"ack"}', '{"type":"error","seq":1}', ' {"type":"ack","seq":1}', '{"type":"ack","seq":1234567890123456}']) {
      expect(quickAck(Buffer.from(text))).toBeUndefined();
    }
  });
});
