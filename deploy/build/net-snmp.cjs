// 'net-snmp' in the bundle (deploy/build/bundle.ts): loaded when an SNMP input first uses
// it, not when the agent starts, so an agent without SNMP inputs never evaluates it and
// its dependencies (bench:agent: ~0.5 MiB of RSS). Every property read goes to the package.
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose: required on first use */
'use strict';
let real;
const load = () => (real ??= require('net-snmp'));
module.exports = new Proxy(
  {},
  {
    // esbuild's import helper asks whether this is an ES module; that need not load it.
    get: (_target, key) => (key === '__esModule' ? undefined : load()[key]),
    has: (_target, key) => key in load(),
  },
);
