// The report's words in Vietnamese and English, and number and date formatting in the
// reader's conventions (vi: 99,95 %, 1.234; en: 99.95%, 1,234) and the report's time zone.
import { SEVERITY_NAMES } from '@canh/core';
export type Lang = 'vi' | 'en';

/** Severity names from the shared glossary, by severity, in one language. */
const severities = (lang: 'vi' | 'en'): Record<string, string> => Object.fromEntries(Object.entries(SEVERITY_NAMES).map(([k, v]) => [k, v[lang]]));

const vi = {
  title: 'Báo cáo tháng',
  agency: 'Cơ quan',
  month: 'Tháng',
  generated: 'Lập lúc',
  timeZone: 'Múi giờ',
  summary: 'Tóm tắt',
  availability: 'Khả dụng',
  minutesDown: 'Số phút gián đoạn',
  services: 'Khả dụng của dịch vụ và đường truyền',
  servicesHow:
    'Mỗi lần kiểm tra (ping hoặc truy cập trang web) là một mẫu. Mẫu bị tính là gián đoạn khi lần kiểm tra thất bại hoặc mất toàn bộ gói tin. Khả dụng = số mẫu đạt / tổng số mẫu; số phút gián đoạn = số mẫu gián đoạn × chu kỳ kiểm tra.',
  kind: 'Loại',
  target: 'Đích kiểm tra',
  from: 'Kiểm tra từ',
  samples: 'Số mẫu',
  down: 'Gián đoạn',
  interval: 'Chu kỳ',
  daily: 'Theo ngày',
  incidents: 'Sự cố dài nhất',
  incidentsHow: 'Các khoảng gián đoạn liên tục dài nhất của mỗi đích (tối đa 3).',
  start: 'Bắt đầu',
  end: 'Kết thúc',
  duration: 'Thời lượng',
  bandwidth: 'Băng thông đường truyền',
  bandwidthHow: 'Lưu lượng vào và ra trung bình và cao nhất (bit/giây), đo trên thiết bị mạng và trên máy chủ. Biểu đồ: mức cao nhất và trung bình theo ngày.',
  device: 'Thiết bị',
  iface: 'Cổng mạng',
  meanIn: 'TB vào',
  meanOut: 'TB ra',
  peakIn: 'Đỉnh vào',
  peakOut: 'Đỉnh ra',
  at: 'lúc',
  agents: 'Kết nối của tác tử giám sát',
  agentsHow:
    'Thời gian tác tử giữ kết nối với máy chủ thu thập, tính từ đầu tháng (hoặc từ lần kết nối đầu tiên) đến cuối tháng. Mỗi lần mất kết nối được tính từ lúc mất đến lúc kết nối lại.',
  offline: 'Thời gian mất kết nối',
  longestOutage: 'Lần mất kết nối dài nhất',
  host: 'Máy',
  online: 'Trực tuyến',
  disconnects: 'Số lần mất kết nối',
  events: 'Sự kiện an ninh',
  eventsHow: 'Số lần xảy ra tính cả các lần được gộp trong một bản ghi (ví dụ một bản ghi dò mật khẩu 30 lần được tính 30 lần).',
  type: 'Loại sự kiện',
  severity: 'Mức độ',
  records: 'Bản ghi',
  occurrences: 'Số lần',
  total: 'Tổng',
  perDay: 'Sự kiện an ninh theo ngày',
  topSources: 'Địa chỉ nguồn nhiều nhất',
  webAttacks: 'Tấn công vào cổng thông tin, trang web',
  webAttacksHow: 'Từ nhật ký truy cập của máy chủ web: dò quét, tìm tệp nhạy cảm và trang quản trị, chèn mã, khai thác lỗ hổng đã biết, dò mật khẩu đăng nhập.',
  webSite: 'Trang web',
  webRequests: 'Yêu cầu tấn công',
  webSources: 'Địa chỉ nguồn',
  webExploits: 'Khai thác lỗ hổng',
  source: 'Địa chỉ nguồn',
  alerts: 'Cảnh báo',
  alertsHow:
    'Mỗi lần một điều kiện cảnh báo xảy ra là một cảnh báo. "Đã xử lý": có cán bộ xác nhận nhận xử lý (trên trang trạng thái hoặc bằng dòng lệnh); "Tự phục hồi": cảnh báo kết thúc mà không ai xác nhận. Thời gian khắc phục = lúc kết thúc − lúc phát cảnh báo.',
  fired: 'Số cảnh báo',
  resolved: 'Đã kết thúc',
  handled: 'Đã xử lý',
  selfResolved: 'Tự phục hồi',
  outcome: 'Kết quả',
  handledBy: 'đã xử lý, người nhận: ',
  mttr: 'Thời gian khắc phục trung bình',
  rule: 'Cảnh báo',
  firedAt: 'Phát lúc',
  resolvedAt: 'Kết thúc lúc',
  unresolved: 'chưa kết thúc',
  ackedNotResolved: 'đã nhận xử lý, chưa kết thúc',
  attention: 'Việc cần theo dõi',
  certs: 'Chứng chỉ hết hạn trong vòng 30 ngày (tính từ cuối tháng)',
  expires: 'Hết hạn',
  daysLeft: 'Số ngày còn lại',
  stillFiring: 'Cảnh báo còn đang phát vào cuối tháng',
  since: 'Từ',
  critical: 'Sự kiện mức nghiêm trọng trong tháng',
  message: 'Nội dung',
  time: 'Thời điểm',
  nothing: 'Không có.',
  noData: 'Không có dữ liệu trong tháng.',
  appendix: 'Phụ lục: truy vấn InfluxQL',
  appendixHow: 'Mọi số liệu trong báo cáo được tính từ các truy vấn dưới đây (cơ sở dữ liệu',
  docTitle: 'BÁO CÁO',
  docSubject: (mm: string, yyyy: string) => `Kết quả giám sát mạng và an toàn thông tin tháng ${mm}/${yyyy}`,
  dateLine: (place: string, dd: string, mm: string, yyyy: string) => `${place ? `${place}, ` : ''}ngày ${dd} tháng ${mm} năm ${yyyy}`,
  numberLine: 'Số:        /BC-',
  recipients: 'Nơi nhận:',
  scope: 'Phạm vi báo cáo',
  sev: severities('vi'),
  kinds: { ping: 'Ping', http: 'Trang web' } as Record<string, string>,
  minutes: 'phút',
  hours: 'giờ',
  days: 'ngày',
  noAgencies: 'Không có cơ quan nào có dữ liệu.',
};

const en: typeof vi = {
  title: 'Monthly report',
  agency: 'Agency',
  month: 'Month',
  generated: 'Generated',
  timeZone: 'Time zone',
  summary: 'Summary',
  availability: 'Availability',
  minutesDown: 'Minutes down',
  services: 'Availability of services and links',
  servicesHow:
    'Each check (ping or a web request) is one sample. A sample counts as down when the check failed or every packet was lost. Availability = up samples / all samples; minutes down = down samples × the check interval.',
  kind: 'Kind',
  target: 'Target',
  from: 'Checked from',
  samples: 'Samples',
  down: 'Down',
  interval: 'Interval',
  daily: 'Per day',
  incidents: 'Worst incidents',
  incidentsHow: 'The longest continuous down periods of each target (at most 3).',
  start: 'Start',
  end: 'End',
  duration: 'Duration',
  bandwidth: 'Link bandwidth',
  bandwidthHow: 'Mean and peak traffic in and out (bit/s), measured on network devices and on hosts. Charts: daily peak and mean.',
  device: 'Device',
  iface: 'Interface',
  meanIn: 'Mean in',
  meanOut: 'Mean out',
  peakIn: 'Peak in',
  peakOut: 'Peak out',
  at: 'at',
  agents: 'Monitoring agents connected',
  agentsHow:
    "Time each agent was connected to the collector, from the month's start (or its first connection) to the month's end. Each disconnection counts from when it dropped until it reconnected.",
  offline: 'Time disconnected',
  longestOutage: 'Longest disconnection',
  host: 'Host',
  online: 'Online',
  disconnects: 'Disconnections',
  events: 'Security events',
  eventsHow: 'Occurrences include those grouped into one record (a record of 30 failed logins counts 30).',
  type: 'Event type',
  severity: 'Severity',
  records: 'Records',
  occurrences: 'Occurrences',
  total: 'Total',
  perDay: 'Security events per day',
  topSources: 'Top source addresses',
  webAttacks: 'Attacks on web portals',
  webAttacksHow:
    'From the web servers’ access logs: scanning, probing for sensitive files and admin pages, injections, exploits of known vulnerabilities, login brute force.',
  webSite: 'Web site',
  webRequests: 'Attack requests',
  webSources: 'Source addresses',
  webExploits: 'Exploit attempts',
  source: 'Source address',
  alerts: 'Alerts',
  alertsHow:
    'Each time an alert condition began is one alert. "Handled": someone acknowledged it (on the status page or the command line); "resolved by itself": it ended with nobody\'s acknowledgement. Time to resolve = end − start.',
  fired: 'Alerts fired',
  resolved: 'Ended',
  handled: 'Handled',
  selfResolved: 'Resolved by itself',
  outcome: 'Outcome',
  handledBy: 'handled, by ',
  mttr: 'Mean time to resolve',
  rule: 'Alert',
  firedAt: 'Fired',
  resolvedAt: 'Ended',
  unresolved: 'not ended',
  ackedNotResolved: 'acknowledged, not ended',
  attention: 'Needs attention',
  certs: "Certificates expiring within 30 days (of the month's end)",
  expires: 'Expires',
  daysLeft: 'Days left',
  stillFiring: "Alerts still firing at the month's end",
  since: 'Since',
  critical: 'Critical security events this month',
  message: 'Message',
  time: 'Time',
  nothing: 'None.',
  noData: 'No data this month.',
  appendix: 'Appendix: InfluxQL queries',
  appendixHow: 'Every figure in this report is computed from the queries below (database',
  docTitle: 'REPORT',
  docSubject: (mm: string, yyyy: string) => `Network and information security monitoring, ${mm}/${yyyy}`,
  dateLine: (place: string, dd: string, mm: string, yyyy: string) => `${place ? `${place}, ` : ''}${dd}/${mm}/${yyyy}`,
  numberLine: 'No.:        /BC-',
  recipients: 'Recipients:',
  scope: 'Scope of the report',
  sev: severities('en'),
  kinds: { ping: 'Ping', http: 'Web' },
  minutes: 'min',
  hours: 'h',
  days: 'days',
  noAgencies: 'No agency has data.',
};

export const STRINGS: Record<Lang, typeof vi> = { vi, en };
export type Strings = typeof vi;

export class Fmt {
  readonly t: Strings;
  private readonly locale: string;
  private readonly timeZone: string;
  constructor(lang: Lang, timeZone: string) {
    this.t = STRINGS[lang];
    this.locale = lang === 'vi' ? 'vi-VN' : 'en-GB';
    this.timeZone = timeZone;
  }
  num(v: number, digits = 0): string {
    return new Intl.NumberFormat(this.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(v);
  }
  /** Percent with two decimals: 99.95 % must not round to 100 %. */
  pct(v: number | null): string {
    if (v === null) return '–';
    // Truncate rather than round up, so any downtime never shows as 100,00 %.
    const x = v < 100 ? Math.floor(v * 100) / 100 : 100;
    return `${this.num(x, 2)} %`;
  }
  bps(v: number): string {
    const units = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return `${this.num(v, i ? 1 : 0)} ${units[i]}`;
  }
  minutes(m: number): string {
    return `${this.num(m, m % 1 ? 1 : 0)} ${this.t.minutes}`;
  }
  duration(m: number): string {
    if (m < 120) return this.minutes(m);
    // Rounded to the minute first: 1439.5 min is 24 h 0 min, never "23 h 60 min".
    const total = Math.round(m);
    const h = Math.floor(total / 60);
    return `${this.num(h)} ${this.t.hours} ${this.num(total - h * 60)} ${this.t.minutes}`;
  }
  /** dd/mm/yyyy hh:mm in both languages (the agencies' own convention), in the report's zone. */
  dateTime(t: number): string {
    const parts = new Intl.DateTimeFormat('en-GB', {
      timeZone: this.timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(t);
    const p = (type: string): string => parts.find((x) => x.type === type)?.value ?? '';
    return `${p('day')}/${p('month')}/${p('year')} ${p('hour')}:${p('minute')}`;
  }
  date(t: number): string {
    return new Intl.DateTimeFormat(this.locale, { timeZone: this.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(t);
  }
}
