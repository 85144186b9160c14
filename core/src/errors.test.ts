import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CanhError, ERROR_CODES } from './errors.ts';

// The table's first column in docs/errors.md, in order.
const documented = [...readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'errors.md'), 'utf8').matchAll(/^\| `(CANH_ERR_[A-Z0-9_]+)`/gm)].map(
  (m) => m[1],
);

describe('error code registry', () => {
  it('is exactly the codes docs/errors.md lists', () => {
    expect([...ERROR_CODES].sort()).toEqual([...new Set(documented)].sort());
  });
  it('lists each code once, each of the CANH_ERR_<AREA>_<WHAT> form', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const c of ERROR_CODES) expect(c).toMatch(/^CANH_ERR_[A-Z0-9]+_[A-Z0-9_]+$/);
  });
  it('carries its code', () => {
    const e = new CanhError('CANH_ERR_CONFIG_INVALID', 'x');
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.code, e.message]).toEqual(['CanhError', 'CANH_ERR_CONFIG_INVALID', 'x']);
  });
});
