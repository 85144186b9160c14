// Alert mails from templates: the shipped ones (vi/ and en/ next to this file) or the
// operator's (alerting.templates.<lang>.subject|text|html, same placeholders). Every
// template is parsed when the collector starts, so a broken one stops it there.
import { readFileSync } from 'node:fs';
import type { Recipient } from '../../alerts/config.ts';
import type { Alert, NewMail } from '../../alerts/types.ts';
import type { Language, Rule } from '../../alerts/rules.ts';
import { mailModel } from './model.ts';
import { Template } from './render.ts';

type Part = 'subject' | 'text' | 'html';
const FILES: Record<Part, string> = { subject: 'subject.txt', text: 'text.txt', html: 'html.html' };

export interface TemplateOverrides {
  vi?: Partial<Record<Part, string>>;
  en?: Partial<Record<Part, string>>;
}

export interface RenderInput {
  recipient: Pick<Recipient, 'email' | 'name' | 'language'>;
  firing: readonly Alert[];
  resolved: readonly Alert[];
  groupKey: string;
  groupLabels: Record<string, string>;
  now: number;
  /** Acknowledged alerts among these: the mail says who has them. */
  acks?: ReadonlyMap<number, { by: string; at: number }>;
}

export class MailRenderer {
  private readonly templates = new Map<string, Template>();
  private readonly rules: ReadonlyMap<string, Rule>;
  private readonly opts: { agencyNames: Readonly<Record<string, string>>; grafanaUrl?: string; statusUrl?: string; timeZone: string };

  constructor(opts: {
    overrides?: TemplateOverrides;
    rules: ReadonlyMap<string, Rule>;
    agencyNames: Readonly<Record<string, string>>;
    grafanaUrl?: string;
    statusUrl?: string;
    timeZone: string;
  }) {
    this.rules = opts.rules;
    this.opts = opts;
    for (const lang of ['vi', 'en'] as const) {
      for (const part of ['subject', 'text', 'html'] as const) {
        const file = opts.overrides?.[lang]?.[part] ?? new URL(`./${lang}/${FILES[part]}`, import.meta.url).pathname;
        this.templates.set(`${lang}.${part}`, new Template(readFileSync(file, 'utf8'), { html: part === 'html', name: file }));
      }
    }
  }

  render(i: RenderInput): NewMail {
    const lang: Language = i.recipient.language;
    const ctx = mailModel({
      lang,
      firing: i.firing,
      resolved: i.resolved,
      groupLabels: i.groupLabels,
      rules: this.rules,
      agencyNames: this.opts.agencyNames,
      grafanaUrl: this.opts.grafanaUrl,
      statusUrl: this.opts.statusUrl,
      timeZone: this.opts.timeZone,
      now: i.now,
      recipientName: i.recipient.name,
      acks: i.acks,
    });
    const t = (part: Part) => this.templates.get(`${lang}.${part}`)!.render(ctx);
    return {
      to: i.recipient.name ? `"${i.recipient.name.replace(/["\\]/g, '')}" <${i.recipient.email}>` : i.recipient.email,
      subject: t('subject').replace(/\s+/g, ' ').trim(),
      text: t('text'),
      html: t('html'),
      headers: {
        'Content-Language': lang,
        // RFC 3834: keep vacation responders and ticket systems from answering alerts.
        'Auto-Submitted': 'auto-generated',
        'X-Auto-Response-Suppress': 'All',
        'X-Canh-Status': String(ctx.status),
        // Label values come from agents' tags: no control characters in a header.
        'X-Canh-Group': i.groupKey.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 900),
      },
    };
  }
}
