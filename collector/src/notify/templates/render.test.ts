// The mail template language: escaping, sections, standalone lines, errors.
import { describe, expect, it } from 'vitest';
import { Template, TemplateError } from './render.ts';
import { formatDuration, formatTime, formatValue, SEVERITY_COLORS } from './model.ts';
import { MailRenderer } from './index.ts';
import type { Alert } from '../../alerts/types.ts';

describe('mail templates', () => {
  it('escapes in HTML, not in text; {{{raw}}} stays raw', () => {
    const ctx = { host: '<b>"web" & co</b>', raw: '<i>ok</i>' };
    expect(new Template('{{host}} {{{raw}}}', { html: true }).render(ctx)).toBe('&lt;b&gt;&quot;web&quot; &amp; co&lt;/b&gt; <i>ok</i>');
    expect(new Template('{{host}}', { html: false }).render(ctx)).toBe('<b>"web" & co</b>');
  });
  it('lists, conditions, inverted sections, outer names in scope, standalone tags take their line', () => {
    const t = new Template(
      'Alerts:\n{{#alerts}}\n- {{name}} on {{host}} ({{agency}})\n{{/alerts}}\n{{^alerts}}\nnone\n{{/alerts}}\n{{#note}}[{{note}}]{{/note}}',
      { html: false },
    );
    expect(
      t.render({
        agency: 'so-tttt',
        alerts: [
          { name: 'a', host: 'h1' },
          { name: 'b', host: 'h2', agency: 'so-yte' },
        ],
      }),
    ).toBe('Alerts:\n- a on h1 (so-tttt)\n- b on h2 (so-yte)\n');
    expect(t.render({ alerts: [], note: 'x' })).toBe('Alerts:\nnone\n[x]');
    expect(t.render({})).toBe('Alerts:\nnone\n');
  });
  it('unbalanced sections are errors at load time', () => {
    expect(() => new Template('{{#a}}x', { html: false, name: 'custom.txt' })).toThrow(TemplateError);
    expect(() => new Template('{{#a}}x{{/b}}', { html: false })).toThrow(/closes nothing/);
  });
  it('times in Asia/Ho_Chi_Minh, values with units, in both languages', () => {
    const t = Date.parse('2026-05-04T01:02:03Z');
    expect(formatTime(t, 'Asia/Ho_Chi_Minh', 'vi')).toBe('08:02:03 ngày 04/05/2026 (GMT+7)');
    expect(formatTime(t, 'Asia/Ho_Chi_Minh', 'en')).toBe('2026-05-04 08:02:03 (GMT+7)');
    expect(formatDuration(90_061, 'vi')).toBe('1 ngày 1 giờ');
    expect(formatDuration(125, 'en')).toBe('2 min 5 s');
    const pct = { type: 'threshold', unit: 'percent' } as never;
    expect(formatValue(95.5, pct, 'vi')).toBe('95,5 %');
    expect(formatValue(1234.5, { type: 'threshold', unit: 'none' } as never, 'en')).toBe('1,234.5');
    expect(formatValue(3 * 1024 ** 3, { type: 'threshold', unit: 'bytes' } as never, 'en')).toBe('3 GiB');
  });
  it('a resolved mail says why when the rule was removed or changed to watch other data (config reload)', () => {
    const r = new MailRenderer({ rules: new Map(), agencyNames: {}, timeZone: 'Asia/Ho_Chi_Minh' });
    const t0 = Date.parse('2026-11-27T01:00:00Z');
    const alert = (id: number, resolvedBy: string): Alert => ({
      id,
      fingerprint: `f${id}`,
      rule: `r${id}`,
      labels: { rule: `r${id}`, agency: 'so-tttt', host: 'web-1' },
      severity: 'high',
      state: 'resolved',
      value: 95,
      summary: 'disk almost full',
      activeAt: t0,
      firedAt: t0,
      resolvedAt: t0 + 60_000,
      lastSampleAt: t0,
      clearSince: null,
      details: { resolved_by: resolvedBy },
    });
    const text = (language: 'vi' | 'en', resolvedBy: string) =>
      r.render({
        recipient: { email: 'soc@tinh.gov.vn', language },
        firing: [],
        resolved: [alert(1, resolvedBy)],
        groupKey: 'g',
        groupLabels: { agency: 'so-tttt' },
        now: t0 + 60_000,
      }).text;
    expect(text('en', 'rule_changed')).toContain('rule changed to watch other data, so the old alert was closed');
    expect(text('vi', 'rule_changed')).toContain('quy tắc đã được sửa');
    expect(text('en', 'rule_removed')).toContain('rule removed from the config');
    expect(text('en', 'rule_changed')).not.toContain('rule removed');
  });
  it('each severity has its own colour in the HTML mail; the heading takes the worst firing one', () => {
    const r = new MailRenderer({ rules: new Map(), agencyNames: {}, timeZone: 'Asia/Ho_Chi_Minh' });
    const t0 = Date.parse('2026-11-27T01:00:00Z');
    const firing = (id: number, severity: Alert['severity']): Alert => ({
      id,
      fingerprint: `f${id}`,
      rule: `r${id}`,
      labels: { rule: `r${id}`, agency: 'so-tttt', host: `web-${id}` },
      severity,
      state: 'firing',
      value: 1,
      summary: 's',
      activeAt: t0,
      firedAt: t0,
      resolvedAt: null,
      lastSampleAt: t0,
      clearSince: null,
      details: {},
    });
    const html = (alerts: Alert[]) =>
      r.render({
        recipient: { email: 'soc@tinh.gov.vn', language: 'vi' },
        firing: alerts,
        resolved: [],
        groupKey: 'g',
        groupLabels: { agency: 'so-tttt' },
        now: t0,
      }).html;
    expect(new Set(Object.values(SEVERITY_COLORS)).size).toBe(5);
    const mixed = html([firing(1, 'medium'), firing(2, 'high')]);
    expect(mixed).toContain(`border-left:4px solid ${SEVERITY_COLORS.medium}`);
    expect(mixed).toContain(`border-left:4px solid ${SEVERITY_COLORS.high}`);
    expect(mixed).toMatch(new RegExp(`<h1[^>]*background:${SEVERITY_COLORS.high}`));
    expect(html([firing(3, 'medium')])).toMatch(new RegExp(`<h1[^>]*background:${SEVERITY_COLORS.medium}`));
  });
});
