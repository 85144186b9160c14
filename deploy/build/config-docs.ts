// Generates the config reference from the zod schemas themselves, so the docs cannot
// disagree with what the agent and collector accept (`npm run docs:config`):
//   docs/operating/config-reference.md   every option, its type, default and meaning
//   docs/schemas/agent.schema.json       JSON Schema for editors (yaml-language-server)
//   docs/schemas/collector.schema.json
// test/packaging/config-docs.test.ts fails when the committed files drift from the code.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { AgentSchema, CollectorSchema } from '../../agent/src/config.ts';
import { inputs } from '../../agent/src/inputs/index.ts';
import { detectors } from '../../agent/src/detectors/index.ts';
import type { InputDefinition } from '../../agent/src/inputs/types.ts';
import { CollectorConfigSchema } from '../../collector/src/config.ts';
import { ROOT } from './bundle.ts';

type Json = { [k: string]: unknown };

/** `/** text *\/` comments written above `key:` lines in a source file, by key name. */
function docComments(file: string): Map<string, string> {
  const src = readFileSync(join(ROOT, file), 'utf8');
  const out = new Map<string, string>();
  // The text may not hold a `*/`: else a comment above a function would run on to the
  // next key's comment and take it with everything between.
  for (const m of src.matchAll(/\/\*\*\s*((?:(?!\*\/)[\s\S])*?)\s*\*\/\s*\n\s*['"]?([a-z_][a-z0-9_]*)['"]?\s*:/gi)) {
    const text = m[1]!.replace(/\n\s*\*\s?/g, ' ').trim();
    if (!out.has(m[2]!)) out.set(m[2]!, text);
  }
  return out;
}

const isDuration = (s: Json | undefined) =>
  Array.isArray(s?.anyOf) && (s.anyOf as Json[]).some((a) => a.type === 'string') && (s.anyOf as Json[]).some((a) => a.type === 'integer');

function ms(n: number): string {
  for (const [u, f] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (n >= f && n % f === 0) return `${n / f}${u}`;
  return `${n}ms`;
}

/**
 * JSON Schema of what may be written in the file (zod's "input" view), with the defaults
 * that zod only knows after a transform (durations) copied from the "output" view, and
 * the descriptions taken from the source comments.
 */
function schemaOf(s: z.ZodType, docs: Map<string, string>, scopes: Record<string, Map<string, string>> = {}): Json {
  const input = z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as Json;
  const output = z.toJSONSchema(s, { io: 'output', unrepresentable: 'any' }) as Json;
  // Comments are found by key name within one source file; a sub-schema written in
  // another file (`scopes`, by config path) takes its keys' comments from that file
  // only, so `alerting.smtp.tls` never shows the comment of `listen.tls`.
  const walk = (i: Json, o: Json | undefined, path: string, here: Map<string, string>) => {
    const props = i.properties as Record<string, Json> | undefined;
    if (!props) return;
    for (const [k, v] of Object.entries(props)) {
      const ov = (o?.properties as Record<string, Json> | undefined)?.[k];
      if (v.default === undefined && ov?.default !== undefined) v.default = isDuration(v) && typeof ov.default === 'number' ? ms(ov.default) : ov.default;
      else if (isDuration(v) && typeof v.default === 'number') v.default = ms(v.default);
      const d = here.get(k);
      if (d) v.description = d;
      else if (isDuration(v)) v.description = 'a duration ("10s", "5m", "1h30m") or milliseconds';
      const child = path ? `${path}.${k}` : k;
      walk(v, ov, child, scopes[child] ?? here);
    }
  };
  walk(input, output, '', docs);
  delete input.$schema;
  return input;
}

function entrySchema(def: InputDefinition, docs: Map<string, string>): Json {
  const s = schemaOf(def.config, docs);
  const props = (s.properties ?? {}) as Record<string, Json>;
  s.properties = {
    type: { const: def.name, description: def.description },
    interval: { anyOf: [{ type: 'string' }, { type: 'integer', minimum: 0 }], description: 'how often this input runs; default agent.interval' },
    tags: { type: 'object', additionalProperties: { type: 'string' }, description: "extra tags on every point (host, agency and site are the collector's)" },
    ...props,
  };
  s.required = ['type', ...((s.required as string[] | undefined) ?? [])];
  s.additionalProperties = false;
  s.title = def.name;
  return s;
}

export function agentSchema(): Json {
  const docs = docComments('agent/src/config.ts');
  const agent = schemaOf(AgentSchema, docs);
  // The default is the name of whichever host runs the agent, not the one that built the docs.
  const hostname = (agent.properties as Record<string, Json>).hostname!;
  delete hostname.default;
  hostname.description = "host name reported to the collector; default: the operating system's host name";
  const entries = (list: readonly InputDefinition[], dir: string) => ({
    type: 'array',
    items: { oneOf: list.map((d) => entrySchema(d, docComments(`agent/src/${dir}/${d.name}/index.ts`))) },
  });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'canh-agent configuration (/etc/canh/agent.yaml)',
    type: 'object',
    additionalProperties: false,
    required: ['collector'],
    properties: {
      collector: schemaOf(CollectorSchema, docs),
      agent,
      inputs: { ...entries(inputs, 'inputs'), description: 'leave out to run the default host inputs' },
      detectors: entries(detectors, 'detectors'),
    },
  };
}

export function collectorSchema(): Json {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'canh-collector configuration (/etc/canh/collector.yaml)',
    ...schemaOf(CollectorConfigSchema, docComments('collector/src/config.ts'), { alerting: docComments('collector/src/alerts/config.ts') }),
  };
}

function typeOf(s: Json): string {
  if (s.const !== undefined) return `\`${String(s.const)}\``;
  if (isDuration(s)) return 'duration';
  if (Array.isArray(s.enum)) return s.enum.map((e) => `\`${String(e)}\``).join(' \\| ');
  if (Array.isArray(s.anyOf)) return [...new Set((s.anyOf as Json[]).map(typeOf))].join(' \\| ');
  if (s.type === 'array') return `list of ${typeOf((s.items as Json | undefined) ?? {})}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return 'map';
  return String(s.type ?? 'any');
}

const cell = (s: unknown) => String(s).replace(/\|/g, '\\|').replace(/\n/g, ' ');

function table(s: Json, prefix: string, rows: string[] = []): string[] {
  const req = new Set((s.required as string[] | undefined) ?? []);
  for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Json>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    const nested = v.type === 'object' && v.properties;
    const def =
      v.default === undefined || (nested && JSON.stringify(v.default) === '{}') ? (req.has(k) ? '*required*' : '') : `\`${JSON.stringify(v.default)}\``;
    if (!nested || v.description) rows.push(`| \`${path}\` | ${typeOf(v)} | ${def} | ${cell(v.description ?? '')} |`);
    if (nested) table(v, path, rows);
  }
  return rows;
}

const HEAD = '| key | type | default | meaning |\n|---|---|---|---|';

export function reference(): string {
  const a = agentSchema();
  const c = collectorSchema();
  const ap = a.properties as Record<string, Json>;
  const section = (list: readonly InputDefinition[], key: 'inputs' | 'detectors', dir: string) =>
    ((ap[key]!.items as Json).oneOf as Json[])
      .map((e, i) => {
        const d = list[i]!;
        const rows = table(
          { ...e, properties: Object.fromEntries(Object.entries(e.properties as Json).filter(([k]) => !['type', 'interval', 'tags'].includes(k))) },
          '',
        );
        return `### \`${d.name}\`${d.platforms ? ` (${d.platforms.join(', ')})` : ''}${d.enabledByDefault ? ', on by default' : ''}\n\n${d.description}. Measurements and examples: [${dir}/${d.name}/README.md](../../agent/src/${dir}/${d.name}/README.md).\n\n${rows.length ? `${HEAD}\n${rows.join('\n')}` : 'No options.'}\n`;
      })
      .join('\n');
  return `<!-- Generated by \`npm run docs:config\` (deploy/build/config-docs.ts) from the config schemas. Do not edit: change the schema and regenerate. -->
# Configuration reference

Both programs read one YAML file, check all of it before starting and name every problem
by its path (\`inputs[2].targets[0]: ...\`); unknown keys are errors. Check a file with
\`canh-agent --validate --config F\` or \`canh-collector --validate --config F\`.
Durations are written \`"10s"\`, \`"5m"\`, \`"1h30m"\`, \`"250ms"\`, or as a number of milliseconds.

Editors can complete and check the files with the JSON Schemas
[docs/schemas/agent.schema.json](../schemas/agent.schema.json) and
[docs/schemas/collector.schema.json](../schemas/collector.schema.json); with the YAML
language server (VS Code's YAML extension), put this first line in the file:

\`\`\`yaml
# yaml-language-server: $schema=/path/to/canh/docs/schemas/agent.schema.json
\`\`\`

## Agent (\`/etc/canh/agent.yaml\`)

The token comes from \`collector.token_file\`, \`collector.token\` or the environment
variable \`CANH_AGENT_TOKEN\` (which wins). \`CANH_AGENT_CONFIG\` names the file when
\`--config\` is not given.

${HEAD}
${table(ap.collector!, 'collector').join('\n')}
${table(ap.agent!, 'agent').join('\n')}

Every entry of \`inputs\` and \`detectors\` has \`type\`, and may have \`interval\` (default
\`agent.interval\`) and \`tags\` (extra tags; \`host\`, \`agency\` and \`site\` are always the
collector's), then the options of its type below. With no \`inputs\` list the inputs marked
"on by default" run.

## Agent inputs

${section(inputs, 'inputs', 'inputs')}
## Agent detectors

${section(detectors, 'detectors', 'detectors')}
## Collector (\`/etc/canh/collector.yaml\`)

\`CANH_COLLECTOR_CONFIG\` names the file when \`--config\` is not given. Secrets
(\`influx.password\`) are \`{ value: ... }\`, \`{ file: /path }\` or \`{ env: NAME }\`.
An example: [deploy/collector.example.yaml](../../deploy/collector.example.yaml).

${HEAD}
${table(c, '').join('\n')}
`;
}

export function outputs(): Record<string, string> {
  return {
    'docs/operating/config-reference.md': reference(),
    'docs/schemas/agent.schema.json': `${JSON.stringify(agentSchema(), null, 2)}\n`,
    'docs/schemas/collector.schema.json': `${JSON.stringify(collectorSchema(), null, 2)}\n`,
  };
}

if (import.meta.main) {
  for (const [file, text] of Object.entries(outputs())) {
    mkdirSync(join(ROOT, file, '..'), { recursive: true });
    writeFileSync(join(ROOT, file), text);
    process.stdout.write(`wrote ${file}\n`);
  }
}
