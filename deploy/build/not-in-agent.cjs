// What `import ... from 'zod'` and `from 'yaml'` get in the bundle (deploy/build/bundle.ts).
// Usually the package itself. In the long-running `run` (agent/src/zod-mode.ts), where the
// config is validated by a short-lived copy of the agent, a stand-in instead, so neither
// package's code nor any schema is ever evaluated in that process:
//  - zod: the schemas every module builds when it loads are built from an inert builder
//    (each builder call returns the builder); anything else (parse, safeParse, reading a
//    schema's shape...) throws, so a use that was missed fails loudly, never passes.
//  - yaml: every function throws.
'use strict';

const leftOut = () => globalThis[Symbol.for('canh.agent.zodLeftOut')] === true;

function notLoaded(what) {
  return new Error(`${what} is not loaded in the running agent (its config is validated by a short-lived copy, agent/src/validate-child.ts); this is a bug`);
}

// The zod methods and namespaces modules call when they build schemas at load time.
const BUILDERS = new Set([
  'object',
  'string',
  'number',
  'boolean',
  'array',
  'record',
  'enum',
  'literal',
  'union',
  'discriminatedUnion',
  'tuple',
  'unknown',
  'any',
  'null',
  'undefined',
  'never',
  'bigint',
  'date',
  'int',
  'lazy',
  'intersection',
  'instanceof',
  'optional',
  'nullable',
  'nullish',
  'default',
  'prefault',
  'catch',
  'strict',
  'strictObject',
  'looseObject',
  'passthrough',
  'extend',
  'merge',
  'pick',
  'omit',
  'partial',
  'required',
  'keyof',
  'describe',
  'meta',
  'brand',
  'readonly',
  'min',
  'max',
  'length',
  'int',
  'nonnegative',
  'positive',
  'negative',
  'nonpositive',
  'finite',
  'safe',
  'multipleOf',
  'regex',
  'url',
  'email',
  'uuid',
  'ip',
  'ipv4',
  'ipv6',
  'cidrv4',
  'cidrv6',
  'trim',
  'toLowerCase',
  'toUpperCase',
  'startsWith',
  'endsWith',
  'includes',
  'nonempty',
  'refine',
  'superRefine',
  'check',
  'transform',
  'pipe',
  'coerce',
  'preprocess',
  'iso',
  'datetime',
  'NEVER',
]);

function standInZod() {
  const handler = {
    get(_target, key) {
      if (typeof key === 'string' && BUILDERS.has(key)) return builder;
      throw notLoaded(`zod (${String(key)})`);
    },
    apply: () => builder,
  };
  const builder = new Proxy(function zodStandIn() {}, handler);
  return { z: builder, default: builder };
}

function standInYaml() {
  const fail = () => {
    throw notLoaded('yaml');
  };
  return { parse: fail, parseDocument: fail, stringify: fail, YAMLParseError: class YAMLParseError extends Error {} };
}

module.exports = { leftOut, standInZod, standInYaml };
