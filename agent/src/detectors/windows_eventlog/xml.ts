// A small, safe XML reader for Windows event XML (the Event schema, as wevtutil /f:xml and
// Get-WinEvent .ToXml() print it). No DTDs, no entity expansion beyond the five predefined
// entities and character references, bounded depth and size: hostile or garbage input gives
// a problem string, never a crash or a memory blow-up. Not a general XML parser.
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const MAX_DEPTH = 32;
const MAX_EVENT_CHARS = 256 * 1024;
const TOKEN =
  /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!\[CDATA\[([\s\S]*?)\]\]>|([^<]+)/y;
const ATTR = /([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g;

function local(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

export function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_m, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default: {
        const cp = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : '\uFFFD';
      }
    }
  });
}

/** Parse one element (and its content) that spans all of `xml`. Throws Error on malformed input. */
export function parseElement(xml: string): XmlElement {
  if (xml.length > MAX_EVENT_CHARS) throw new Error(`event larger than ${MAX_EVENT_CHARS} characters`);
  const root: XmlElement = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < xml.length) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(xml);
    if (!m) throw new Error(`malformed XML at character ${pos}: ${JSON.stringify(xml.slice(pos, pos + 40))}`);
    pos = TOKEN.lastIndex;
    const top = stack[stack.length - 1]!;
    if (m[2] !== undefined) {
      const name = local(m[2]);
      if (m[1]) {
        if (top.name !== name || stack.length === 1) throw new Error(`unexpected </${m[2]}>`);
        stack.pop();
        continue;
      }
      const attrs: Record<string, string> = {};
      for (const a of (m[3] ?? '').matchAll(ATTR)) attrs[local(a[1]!)] = decodeEntities(a[2] ?? a[3] ?? '');
      const el: XmlElement = { name, attrs, children: [], text: '' };
      top.children.push(el);
      if (!m[4]) {
        if (stack.length > MAX_DEPTH) throw new Error('XML nested too deep');
        stack.push(el);
      }
    } else if (m[5] !== undefined) top.text += m[5];
    else if (m[6] !== undefined) top.text += decodeEntities(m[6]);
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack[stack.length - 1]!.name}>`);
  const els = root.children;
  if (els.length !== 1) throw new Error('expected exactly one element');
  return els[0]!;
}

/** Split wevtutil output (Event elements one after another, no root) and parse each. */
export function parseEventStream(text: string): { events: XmlElement[]; problems: string[] } {
  const events: XmlElement[] = [];
  const problems: string[] = [];
  const stray = (s: string, where: string) => {
    const t = s.replace(/<\?xml[^>]*\?>/, '').trim();
    if (t) problems.push(`unexpected text ${where}: ${JSON.stringify(t.slice(0, 60))}`);
  };
  // indexOf, not a lazy regex: a stream of unclosed "<Event>" must stay linear in time.
  let pos = 0;
  for (;;) {
    let start = text.indexOf('<Event', pos);
    while (start !== -1 && !/[\s>]/.test(text[start + 6] ?? '')) start = text.indexOf('<Event', start + 6);
    if (start === -1) break;
    const end = text.indexOf('</Event>', start);
    if (end === -1) {
      problems.push('an event without its closing </Event> (output cut short?)');
      pos = text.length;
      break;
    }
    stray(text.slice(pos, start), 'before an event');
    const chunk = text.slice(start, end + 8);
    pos = end + 8;
    try {
      events.push(parseElement(chunk));
    } catch (err) {
      problems.push((err as Error).message);
    }
  }
  stray(text.slice(pos), 'after the last event');
  return { events, problems };
}

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}
