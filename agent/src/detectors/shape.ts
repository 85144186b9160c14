// The shapes of the detectors' own baseline files, checked when a baseline is loaded.
// Not zod: the running agent keeps zod out of its memory (~10 MiB; configs are validated
// in a short-lived process, see validate-child.ts), and a baseline is plain JSON the
// agent wrote itself: strings, numbers, lists, maps. Same answers as the zod schemas
// these replace: unknown keys of an object are dropped, a missing key with a default
// gets it, anything else out of shape is refused with the path of the first problem.

export interface Shape<T> {
  safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  /** Returns the checked value or throws ShapeMismatch (used by the shapes that contain this one). */
  check(v: unknown, path: PropertyKey[]): T;
}

export type Infer<S> = S extends Shape<infer T> ? T : never;

class ShapeMismatch extends Error {
  readonly path: PropertyKey[];
  constructor(path: PropertyKey[], message: string) {
    super(message);
    this.path = path;
  }
}

function shape<T>(check: (v: unknown, path: PropertyKey[]) => T): Shape<T> {
  return {
    check,
    safeParse(v) {
      try {
        return { success: true, data: check(v, []) };
      } catch (err) {
        if (!(err instanceof ShapeMismatch)) throw err;
        return { success: false, error: { issues: [{ path: err.path, message: err.message }] } };
      }
    },
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const string = shape((v, path) => {
  if (typeof v !== 'string') throw new ShapeMismatch(path, 'expected a string');
  return v;
});

export const number = shape((v, path) => {
  if (typeof v !== 'number' || Number.isNaN(v)) throw new ShapeMismatch(path, 'expected a number');
  return v;
});

export function oneOf<const T extends string>(values: readonly T[]): Shape<T> {
  return shape((v, path) => {
    if (!values.includes(v as T)) throw new ShapeMismatch(path, `expected one of ${values.join(', ')}`);
    return v as T;
  });
}

export function array<T>(of: Shape<T>): Shape<T[]> {
  return shape((v, path) => {
    if (!Array.isArray(v)) throw new ShapeMismatch(path, 'expected a list');
    return v.map((x, i) => of.check(x, [...path, i]));
  });
}

/** A map from string keys to values of one shape. */
export function record<T>(of: Shape<T>): Shape<Record<string, T>> {
  return shape((v, path) => {
    if (!isObj(v)) throw new ShapeMismatch(path, 'expected an object');
    const out: Record<string, T> = {};
    for (const [k, x] of Object.entries(v)) out[k] = of.check(x, [...path, k]);
    return out;
  });
}

/** A key that may be missing (or undefined). */
export function optional<T>(of: Shape<T>): Shape<T | undefined> {
  return shape((v, path) => (v === undefined ? undefined : of.check(v, path)));
}

/** A key that gets `value()` when missing. */
export function withDefault<T>(of: Shape<T>, value: () => NoInfer<T>): Shape<T> {
  return shape((v, path) => (v === undefined ? value() : of.check(v, path)));
}

type Fields = Record<string, Shape<unknown>>;
type OptionalKeys<F extends Fields> = { [K in keyof F]: undefined extends Infer<F[K]> ? K : never }[keyof F];
type ObjectOf<F extends Fields> = { [K in Exclude<keyof F, OptionalKeys<F>>]: Infer<F[K]> } & { [K in OptionalKeys<F>]?: Infer<F[K]> };

/** An object with these keys; other keys are dropped, as zod's z.object does. */
export function object<F extends Fields>(fields: F): Shape<ObjectOf<F>> {
  return shape((v, path) => {
    if (!isObj(v)) throw new ShapeMismatch(path, 'expected an object');
    const out: Record<string, unknown> = {};
    for (const [k, s] of Object.entries(fields)) {
      const x = s.check(v[k], [...path, k]);
      if (x !== undefined) out[k] = x;
    }
    return out as ObjectOf<F>;
  });
}
