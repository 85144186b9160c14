// What the command line says to a person, in Vietnamese or English: table headings,
// states, severities and sentences, with times in local time and the zone named. The
// language is `--lang vi|en`, else the config's `status.language` (the language the
// operators read, vi unless set). Domain words come from the shared glossary (@canh/core),
// so "tác tử", "tạm tắt cảnh báo" or "đã thu hồi" read the same as on the status page and
// in the mails. Machine output (`--json`) is not translated: ids, ISO times, raw states.
import { CanhError, severityName, term, wallClock, type GlossaryLang } from '@canh/core';

export type CliLang = GlossaryLang;

/** --lang if given (vi or en, else a usage error), else the config's operator language. */
export function cliLang(flag: string | undefined, config: { status?: { language?: CliLang } }): CliLang {
  if (flag === undefined) return config.status?.language ?? 'vi';
  if (flag === 'vi' || flag === 'en') return flag;
  throw new CanhError('CANH_ERR_CLI_USAGE', `--lang takes vi or en, not "${flag}"`);
}

/** The zone a command shows times in: the alerting zone, else the status page's. */
export function cliZone(config: { alerting?: { timezone: string }; status?: { time_zone: string } }): string {
  return config.alerting?.timezone ?? config.status?.time_zone ?? 'Asia/Ho_Chi_Minh';
}

/**
 * A time as a person reads it where they are, with the zone beside it:
 * vi "07/12/2026 08:00 (Asia/Ho_Chi_Minh)", en "2026-12-07 08:00 (Asia/Ho_Chi_Minh)".
 * Day first in Vietnamese, as the country writes dates; ISO order in English.
 */
export function cliWhen(t: number, tz: string, lang: CliLang): string {
  const w = wallClock(t, tz);
  const p = (n: number) => String(n).padStart(2, '0');
  const hm = `${p(w.hour)}:${p(w.minute)}`;
  return lang === 'vi' ? `${p(w.day)}/${p(w.month)}/${w.year} ${hm} (${tz})` : `${w.year}-${p(w.month)}-${p(w.day)} ${hm} (${tz})`;
}

const VI = {
  silenceHead: ['MÃ', 'TRẠNG THÁI', 'ĐIỀU KIỆN', 'KẾT THÚC', 'NGƯỜI TẠO', 'GHI CHÚ'],
  silenceState: { active: 'đang áp dụng', pending: 'chưa bắt đầu', expired: 'đã hết hạn' } as Record<string, string>,
  silenceAdded: (id: string, m: string, from: string, until: string) => `Đã thêm ${term('silence', 'vi')} ${id}: ${m}, từ ${from} đến ${until}`,
  silenceExpired: (id: string) => `Đã kết thúc ${term('silence', 'vi')} ${id}`,
  alertHead: ['MÃ', 'QUY TẮC', 'MỨC ĐỘ', 'CƠ QUAN', 'MÁY CHỦ', 'TỪ LÚC', 'NHẬN XỬ LÝ', 'CẢNH BÁO'],
  acked: (id: number, rule: string, host: string | undefined, by: string, at: string) =>
    `Cảnh báo ${id} (${rule}${host ? ` trên máy ${host}` : ''}) đã được ${by} nhận xử lý lúc ${at}; máy thu thập đang chạy sẽ ghi việc này vào InfluxDB ở vòng kế tiếp`,
  agentHead: ['TÊN', 'CƠ QUAN', 'ĐỊA ĐIỂM', 'TRẠNG THÁI', 'PHIÊN BẢN', 'LẦN CUỐI LIÊN LẠC'],
  never: 'chưa bao giờ',
  agentAdded: (name: string, agency: string, site: string) => `Đã đăng ký ${term('agent', 'vi')} ${name} (cơ quan ${agency}, địa điểm ${site}).`,
  tokenOnce: 'Mã truy cập (token), chỉ hiện một lần này; hãy ghi vào tệp token_file của tác tử:',
  agentRevoked: (name: string) => `Đã thu hồi ${term('agent', 'vi')} ${name}; nếu đang kết nối, tác tử bị ngắt trong vòng 5 giây`,
  agentRemoved: (name: string) =>
    `Đã xoá ${term('agent', 'vi')} ${name} khỏi danh sách đăng ký, cùng trạng thái cấu hình tập trung và phiên kết nối của nó; trong vòng một phút ${term('collector', 'vi')} kết thúc các ${term('alert', 'vi')} đang mở của nó (vì đã thu hồi) và xoá chuỗi số liệu, trạng thái trực tuyến của nó (dữ liệu của nó trong InfluxDB vẫn giữ)`,
  agentAlreadyRemoved: (name: string) =>
    `Đã xoá ${term('agent', 'vi')} ${name} từ trước; ${term('collector', 'vi')} dọn phần còn lại của nó trong vòng một phút khi đang chạy (không cần làm gì thêm)`,
  reloaded: (rules: number, added: string, removed: string, changed: string, resolved: number) =>
    `Đã nạp lại cấu hình cảnh báo: ${rules} quy tắc (thêm: ${added}; bỏ: ${removed}; sửa: ${changed}); ${resolved} cảnh báo đang phát đã kết thúc`,
  reloadedOther: (what: string) =>
    `Đã nạp lại cấu hình: phần cảnh báo ${({ enabled: 'được bật', disabled: 'bị tắt', absent: 'không có' } as Record<string, string>)[what] ?? what}`,
  restartNeeded: (what: string) => `Thay đổi ngoài phần cảnh báo, chỉ có hiệu lực sau khi khởi động lại: ${what}`,
  historyHead: ['PHIÊN BẢN', 'PHẠM VI', 'ĐỐI TƯỢNG', 'NGƯỜI ĐẨY', 'THỜI ĐIỂM', 'GHI CHÚ'],
  deletedVersion: (v: number) => `${v} (đã xoá)`,
  scope: { global: 'toàn hệ thống', agency: 'cơ quan', site: 'địa điểm', agent: 'tác tử' } as Record<string, string>,
  configStored: (version: number, scope: string, target: string, comment: string) =>
    `Đã lưu cấu hình phiên bản ${version} cho ${scope}${target ? ` ${target}` : ''}${comment ? ` (${comment})` : ''}; các ${term('agent', 'vi')} đang kết nối nhận được trong vài giây`,
  configDeleted: (scope: string, target: string, version: number) =>
    `Đã xoá cấu hình tập trung của ${scope}${target ? ` ${target}` : ''} (phiên bản ${version}); các ${term('agent', 'vi')} của nó quay về phạm vi rộng hơn hoặc cấu hình tại chỗ trong vài giây`,
  configShowHead: ['TÁC TỬ', 'CƠ QUAN', 'ĐỊA ĐIỂM', 'ĐƯỢC GIAO', 'TỪ PHẠM VI', 'ĐANG CHẠY', 'LỖI'],
  localConfig: 'tại chỗ',
  backupWritten: (to: string, agents: number, spoolFiles: number, influx: string) =>
    `Đã sao lưu vào ${to}: collector.db (${agents} ${term('agent', 'vi')}), ${spoolFiles} tệp hàng đợi${influx ? `, cơ sở dữ liệu InfluxDB ${influx}` : ''}`,
  restored: (from: string, made: string, agents: number, spoolFiles: number, influx: string) =>
    `Đã khôi phục từ ${from} (bản sao lưu lúc ${made}): collector.db (${agents} ${term('agent', 'vi')}), ${spoolFiles} tệp hàng đợi${influx ? `, cơ sở dữ liệu InfluxDB ${influx}` : ''}; hãy khởi động ${term('collector', 'vi')}`,
  migrated: (file: string, url: string) => `Đã chép ${file} sang ${url}; mọi bảng đọc lại đều khớp:`,
  migrateNext: `Hãy dừng ${term('collector', 'vi')} này, giữ state.postgres trong cấu hình của nó, rồi khởi động lại (cùng các ${term('collector', 'vi')} khác).`,
  maintenanceHead: ['MÃ', 'ĐANG MỞ', 'TÊN', 'THỜI GIAN', 'PHẠM VI', 'NGƯỜI TẠO', 'GHI CHÚ'],
  yes: 'có',
  no: 'không',
  everyDay: 'hằng ngày',
  days: { sun: 'CN', mon: 'T2', tue: 'T3', wed: 'T4', thu: 'T5', fri: 'T6', sat: 'T7' } as Record<string, string>,
  fromConfigFile: '(tệp cấu hình)',
  everything: 'tất cả',
  maintenanceAdded: (id: string, name: string, when: string, covers: string) =>
    `Đã thêm lịch ${term('maintenance', 'vi')} ${id} "${name}": ${when}, áp dụng cho ${covers}`,
  maintenanceRemoved: (id: string, name: string) => `Đã xoá lịch ${term('maintenance', 'vi')} ${id} ("${name}")`,
};

const EN: typeof VI = {
  silenceHead: ['ID', 'STATE', 'MATCHERS', 'ENDS', 'AUTHOR', 'COMMENT'],
  silenceState: { active: 'active', pending: 'pending', expired: 'expired' },
  silenceAdded: (id, m, from, until) => `silence ${id} added: ${m} from ${from} until ${until}`,
  silenceExpired: (id) => `silence ${id} expired`,
  alertHead: ['ID', 'RULE', 'SEVERITY', 'AGENCY', 'HOST', 'SINCE', 'ACKNOWLEDGED', 'ALERT'],
  acked: (id, rule, host, by, at) =>
    `alert ${id} (${rule}${host ? ` on ${host}` : ''}) acknowledged by ${by} at ${at}; the running collector records it in InfluxDB at its next round`,
  agentHead: ['NAME', 'AGENCY', 'SITE', 'STATE', 'VERSION', 'LAST SEEN'],
  never: 'never',
  agentAdded: (name, agency, site) => `agent ${name} (agency ${agency}, site ${site}) registered.`,
  tokenOnce: "token (shown only now; put it in the agent's token_file):",
  agentRevoked: (name) => `agent ${name} revoked; a connected agent is cut off within 5 s`,
  agentRemoved: (name) =>
    `agent ${name} removed from the registry, with its central config state and its session; within a minute the collector resolves its open alerts (agent_revoked) and removes its alert series and liveness row (its data in InfluxDB stays)`,
  agentAlreadyRemoved: (name) => `agent ${name} was already removed; a running collector cleans up the rest of it within a minute (nothing more to do)`,
  reloaded: (rules, added, removed, changed, resolved) =>
    `alerting config reloaded: ${rules} rules (added: ${added}; removed: ${removed}; changed: ${changed}); ${resolved} firing alerts resolved`,
  reloadedOther: (what) => `alerting config reloaded: alerting ${what}`,
  restartNeeded: (what) => `changed outside alerting, applied only by a restart: ${what}`,
  historyHead: ['VERSION', 'SCOPE', 'TARGET', 'AUTHOR', 'WHEN', 'COMMENT'],
  deletedVersion: (v) => `${v} (deleted)`,
  scope: { global: 'global', agency: 'agency', site: 'site', agent: 'agent' },
  configStored: (version, scope, target, comment) =>
    `config version ${version} stored for ${scope}${target ? ` ${target}` : ''}${comment ? ` (${comment})` : ''}; connected agents receive it within a few seconds`,
  configDeleted: (scope, target, version) =>
    `central config of ${scope}${target ? ` ${target}` : ''} deleted (version ${version}); its agents fall back to a wider scope or their local config within a few seconds`,
  configShowHead: ['AGENT', 'AGENCY', 'SITE', 'ASSIGNED', 'FROM', 'RUNNING', 'ERRORS'],
  localConfig: 'local',
  backupWritten: (to, agents, spoolFiles, influx) =>
    `backup written to ${to}: collector.db (${agents} agents), ${spoolFiles} spool files${influx ? `, InfluxDB database ${influx}` : ''}`,
  restored: (from, made, agents, spoolFiles, influx) =>
    `restored from ${from} (made ${made}): collector.db (${agents} agents), ${spoolFiles} spool files${influx ? `, InfluxDB database ${influx}` : ''}; start the collector`,
  migrated: (file, url) => `copied ${file} to ${url}; every table read back equal:`,
  migrateNext: 'Stop this collector, keep state.postgres in its config, and start it (and the others) again.',
  maintenanceHead: ['ID', 'OPEN', 'NAME', 'WHEN', 'COVERS', 'AUTHOR', 'COMMENT'],
  yes: 'yes',
  no: 'no',
  everyDay: 'every day',
  days: { sun: 'sun', mon: 'mon', tue: 'tue', wed: 'wed', thu: 'thu', fri: 'fri', sat: 'sat' },
  fromConfigFile: '(config file)',
  everything: '*',
  maintenanceAdded: (id, name, when, covers) => `maintenance window ${id} added: "${name}" ${when}, covering ${covers}`,
  maintenanceRemoved: (id, name) => `maintenance window ${id} ("${name}") removed`,
};

export const CLI_WORDS: Record<CliLang, typeof VI> = { vi: VI, en: EN };

/** An agent's state word: online, offline or revoked. */
export function agentState(a: { revokedAt?: number | null; connected?: boolean }, lang: CliLang): string {
  return term(a.revokedAt ? 'revoked' : a.connected ? 'online' : 'offline', lang);
}

/** A severity as the glossary names it. */
export function cliSeverity(sev: string, lang: CliLang): string {
  return severityName(sev, lang);
}
