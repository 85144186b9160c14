// Errors a user can meet carry a stable code (CANH_ERR_<AREA>_<WHAT>) listed in
// docs/errors.md; a test keeps that list and the code in step.

export class CanhError extends Error {
  readonly code: string;
  constructor(code: `CANH_ERR_${string}`, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CanhError';
    this.code = code;
  }
}
