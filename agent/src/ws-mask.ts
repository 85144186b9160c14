// WebSocket masking for the bundled agent, in bufferutil's shape (mask, unmask): the
// bundle gives it to ws in place of the native bufferutil, which a single executable
// cannot load. ws's own fallback XORs byte by byte; under --lite-mode (no optimising
// compiler) that loop cost ~0.4 ms per 8 KB batch, the largest item of an agent's cycle
// in a CPU profile. Four bytes per step where source and output are 4-byte aligned
// (a batch frame is its own buffer, masked in place), byte by byte elsewhere.
// Every frame is still masked with ws's random key, as RFC 6455 requires of a client.

function maskBytes(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, from: number, length: number): void {
  for (let i = from; i < length; i++) output[offset + i] = source[i]! ^ mask[i & 3]!;
}

function maskWords(source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number): void {
  const out = output.byteOffset + offset;
  const words = length >>> 2;
  if (words < 4 || source.byteOffset % 4 !== 0 || out % 4 !== 0) {
    maskBytes(source, mask, output, offset, 0, length);
    return;
  }
  // The key read as one word in the machine's byte order, as the views below read data.
  const key = new Uint32Array(new Uint8Array([mask[0]!, mask[1]!, mask[2]!, mask[3]!]).buffer)[0]!;
  const src = new Uint32Array(source.buffer, source.byteOffset, words);
  const dst = new Uint32Array(output.buffer, out, words);
  for (let i = 0; i < words; i++) dst[i] = src[i]! ^ key;
  maskBytes(source, mask, output, offset, words << 2, length);
}

/** Mask `length` bytes of `source` into `output` at `offset` (bufferutil's signature). */
export function mask(source: Uint8Array, key: Uint8Array, output: Uint8Array, offset: number, length: number): void {
  maskWords(source, key, output, offset, length);
}

/** Unmask `buffer` in place. */
export function unmask(buffer: Uint8Array, key: Uint8Array): void {
  maskWords(buffer, key, buffer, 0, buffer.length);
}
