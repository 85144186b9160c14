// A deliberately small template language for alert mails, enough for operators to
// override the wording without learning a template engine:
//   {{name}}          a value; HTML-escaped in HTML templates
//   {{{name}}}        a value, not escaped (only for values the code made safe)
//   {{#name}}…{{/name}}  a list: the block once per item (an item's names are in scope);
//                     a true value: the block once; false, empty, absent: nothing
//   {{^name}}…{{/name}}  the block only when `name` is false, empty or absent
// Unknown names render as nothing. A template with unbalanced sections is an error,
// caught when the collector starts, not when the first alert is mailed.

type Node = { kind: 'text'; text: string } | { kind: 'var'; name: string; raw: boolean } | { kind: 'section'; name: string; inverted: boolean; body: Node[] };

export type Context = { [name: string]: unknown };

export class TemplateError extends Error {}

const TAG = /\{\{\{\s*([\w.]+)\s*\}\}\}|\{\{\s*([#^/]?)\s*([\w.]+)\s*\}\}/g;

/** A section tag alone on its line takes the line with it, so templates can be laid out readably. */
const STANDALONE = /^[ \t]*(\{\{[#^/][^}]*\}\})[ \t]*\r?\n/gm;

export function parseTemplate(text: string, name = 'template'): Node[] {
  const src = text.replace(STANDALONE, '$1');
  const root: Node[] = [];
  const stack: { name: string; body: Node[] }[] = [{ name: '', body: root }];
  let last = 0;
  for (const m of src.matchAll(TAG)) {
    const top = stack[stack.length - 1]!;
    if (m.index > last) top.body.push({ kind: 'text', text: src.slice(last, m.index) });
    last = m.index + m[0].length;
    if (m[1] !== undefined) {
      top.body.push({ kind: 'var', name: m[1], raw: true });
      continue;
    }
    const [sigil, id] = [m[2]!, m[3]!];
    if (sigil === '#' || sigil === '^') {
      const node: Node = { kind: 'section', name: id, inverted: sigil === '^', body: [] };
      top.body.push(node);
      stack.push({ name: id, body: node.body });
    } else if (sigil === '/') {
      if (stack.length === 1 || top.name !== id) throw new TemplateError(`${name}: {{/${id}}} closes nothing (open: ${top.name || 'none'})`);
      stack.pop();
    } else top.body.push({ kind: 'var', name: id, raw: false });
  }
  if (stack.length > 1) throw new TemplateError(`${name}: {{#${stack[stack.length - 1]!.name}}} is never closed`);
  if (last < src.length) root.push({ kind: 'text', text: src.slice(last) });
  return root;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function lookup(scopes: readonly Context[], name: string): unknown {
  for (let i = scopes.length - 1; i >= 0; i--) {
    const s = scopes[i]!;
    if (Object.hasOwn(s, name)) return s[name];
  }
  return undefined;
}

function truthy(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : Boolean(v);
}

function renderNodes(nodes: readonly Node[], scopes: Context[], html: boolean, out: string[]): void {
  for (const n of nodes) {
    if (n.kind === 'text') out.push(n.text);
    else if (n.kind === 'var') {
      const v = lookup(scopes, n.name);
      const s = v === undefined || v === null ? '' : String(v);
      out.push(html && !n.raw ? escapeHtml(s) : s);
    } else {
      const v = lookup(scopes, n.name);
      if (n.inverted) {
        if (!truthy(v)) renderNodes(n.body, scopes, html, out);
      } else if (Array.isArray(v)) {
        for (const item of v) renderNodes(n.body, [...scopes, typeof item === 'object' && item ? (item as Context) : { '.': item }], html, out);
      } else if (truthy(v)) renderNodes(n.body, typeof v === 'object' ? [...scopes, v as Context] : scopes, html, out);
    }
  }
}

export class Template {
  private readonly nodes: Node[];
  private readonly html: boolean;

  constructor(src: string, opts: { html: boolean; name?: string }) {
    this.nodes = parseTemplate(src, opts.name);
    this.html = opts.html;
  }

  render(ctx: Context): string {
    const out: string[] = [];
    renderNodes(this.nodes, [ctx], this.html, out);
    return out.join('');
  }
}
