// Import boundaries, checked by ESLint rather than remembered.
//
// - canh/no-cross-package: a relative import that leaves its package folder (core,
//   protocol, agent, collector, dashboards) is an error. Packages reach each other by
//   name and through what they declare in package.json "exports" (`@canh/core`,
//   `@canh/agent/config`). One exception: tests and their kits (`*.test.ts`,
//   `test-kit.ts`, `testing.ts`) may use the repository's real-component helpers in
//   test/helpers/ (influxd, snmpd, SMTP server, free ports), which ship in no package.
// - canh/no-sibling-plugin: an input or detector (a folder with an index.ts under
//   agent/src/inputs/ or agent/src/detectors/) imports no other plugin's folder. Shared
//   code sits in a module beside them (inputs/procfs.ts, detectors/auth/, inputs/snmp-shared/),
//   a folder without an index.ts.
import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = dirname(import.meta.dirname);
const PACKAGES = new Set(['core', 'protocol', 'agent', 'collector', 'dashboards']);
const TEST_FILE = /(\.test|\/test-kit|\/testing)\.ts$/;
const PLUGIN_KINDS = ['agent/src/inputs/', 'agent/src/detectors/'];

/** Path of `abs` from the repository root, with forward slashes. */
const fromRoot = (abs) => relative(ROOT, abs).split(sep).join('/');

const packageOf = (rel) => {
  const top = rel.split('/')[0];
  return PACKAGES.has(top) ? top : undefined;
};

/** `agent/src/inputs/snmp` for anything inside that plugin's folder, else undefined. */
function pluginOf(rel) {
  for (const kind of PLUGIN_KINDS) {
    if (!rel.startsWith(kind)) continue;
    const parts = rel.slice(kind.length).split('/');
    if (parts.length < 2) return undefined; // a file beside the plugins: shared
    const folder = kind + parts[0];
    return existsSync(join(ROOT, folder, 'index.ts')) ? folder : undefined;
  }
  return undefined;
}

function visitSources(context, check) {
  const visit = (node) => {
    const src = node.source;
    if (src && src.type === 'Literal' && typeof src.value === 'string') check(node, src.value);
  };
  return { ImportDeclaration: visit, ExportAllDeclaration: visit, ExportNamedDeclaration: visit, ImportExpression: visit };
}

const noCrossPackage = {
  meta: {
    type: 'problem',
    schema: [],
    messages: { cross: 'relative import leaves package "{{from}}" for "{{to}}": import the package by name through its declared exports' },
  },
  create(context) {
    const file = fromRoot(context.filename);
    const from = packageOf(file);
    if (!from) return {};
    return visitSources(context, (node, spec) => {
      if (!spec.startsWith('.')) return;
      const target = fromRoot(resolve(dirname(context.filename), spec));
      if (target.startsWith('test/helpers/') && TEST_FILE.test(file)) return;
      const to = packageOf(target) ?? target.split('/')[0];
      if (to !== from) context.report({ node: node.source, messageId: 'cross', data: { from, to } });
    });
  },
};

const noSiblingPlugin = {
  meta: {
    type: 'problem',
    schema: [],
    messages: { sibling: '{{from}} imports the plugin {{to}}: move what both need into a shared module beside the plugins' },
  },
  create(context) {
    const from = pluginOf(fromRoot(context.filename));
    if (!from) return {};
    return visitSources(context, (node, spec) => {
      if (!spec.startsWith('.')) return;
      const to = pluginOf(fromRoot(resolve(dirname(context.filename), spec)));
      if (to && to !== from) context.report({ node: node.source, messageId: 'sibling', data: { from, to } });
    });
  },
};

export default { rules: { 'no-cross-package': noCrossPackage, 'no-sibling-plugin': noSiblingPlugin } };
