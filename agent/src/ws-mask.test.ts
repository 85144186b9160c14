import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mask, unmask } from './ws-mask.ts';

// ws's own byte-by-byte masking, the reference.
function reference(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void {
  for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ key[i & 3]!;
}

describe('ws mask (bufferutil in the bundle)', () => {
  it('masks like ws does, for any length, source alignment and output offset', () => {
    for (const length of [0, 1, 3, 15, 16, 17, 48, 125, 126, 1023, 8190]) {
      for (const shift of [0, 1, 2, 3]) {
        for (const offset of [0, 2, 6, 14]) {
          const key = randomBytes(4);
          const backing = randomBytes(length + 8);
          const source = backing.subarray(shift, shift + length);
          const want = Buffer.alloc(offset + length);
          const got = Buffer.alloc(offset + length);
          reference(source, key, want, offset, length);
          mask(source, key, got, offset, length);
          expect(got.equals(want), `length ${length}, source shift ${shift}, offset ${offset}`).toBe(true);
        }
      }
    }
  });

  it('masks in place and unmasks back to the original', () => {
    for (const length of [5, 64, 8191]) {
      const key = randomBytes(4);
      const original = randomBytes(length);
      const data = Buffer.from(original);
      const want = Buffer.alloc(length);
      reference(original, key, want, 0, length);
      mask(data, key, data, 0, length);
      expect(data.equals(want)).toBe(true);
      unmask(data, key);
      expect(data.equals(original)).toBe(true);
    }
  });
});
