// The report's words in Vietnamese and English, and number and date formatting in the
// reader's conventions (vi: 99,95 %, 1.234; en: 99.95%, 1,234) and the report's time zone.
export type Lang = 'vi' | 'en';

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
  servicesHow: 'Mỗi lần kiểm tra (ping hoặc HTTP) là một mẫu. Mẫu bị tính là gián đoạn khi result_code khác 0 hoặc mất 100 % gói tin (ping). Khả dụng = số mẫu đạt / tổng số mẫu; số phút gián đoạn = số mẫu gián đoạn × chu kỳ kiểm tra (khoảng cách trung vị giữa hai mẫu liên tiếp).',
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
  bandwidthHow: 'Giá trị trung bình và đỉnh của lưu lượng vào/ra (bit/s) theo SNMP (in_bps, out_bps) và theo máy trạm (bytes_recv_rate, bytes_sent_rate × 8). Biểu đồ: đỉnh và trung bình theo ngày.',
  device: 'Thiết bị',
  iface: 'Giao diện',
  meanIn: 'TB vào',
  meanOut: 'TB ra',
  peakIn: 'Đỉnh vào',
  peakOut: 'Đỉnh ra',
  at: 'lúc',
  agents: 'Tác tử trực tuyến',
  agentsHow: 'Tỷ lệ các khoảng 5 phút có ít nhất một điểm dữ liệu của chính tác tử, tính từ đầu tháng (hoặc từ lần báo cáo đầu tiên) đến cuối tháng.',
  host: 'Máy',
  online: 'Trực tuyến',
  disconnects: 'Số lần mất kết nối',
  events: 'Sự kiện an ninh',
  eventsHow: 'Số lần xảy ra = tổng trường count (một sự kiện gộp, ví dụ dò mật khẩu 30 lần, được tính 30).',
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
  alertsHow: 'Mỗi lần chuyển sang firing là một cảnh báo; thời gian xử lý = thời điểm resolved − thời điểm firing của cùng quy tắc và máy.',
  fired: 'Số cảnh báo',
  resolved: 'Đã xử lý',
  mttr: 'Thời gian xử lý trung bình',
  rule: 'Quy tắc',
  firedAt: 'Phát lúc',
  resolvedAt: 'Xử lý lúc',
  unresolved: 'chưa xử lý',
  attention: 'Việc cần theo dõi',
  certs: 'Chứng chỉ hết hạn trong vòng 30 ngày (tính từ cuối tháng)',
  expires: 'Hết hạn',
  daysLeft: 'Số ngày còn lại',
  stillFiring: 'Cảnh báo còn đang phát vào cuối tháng',
  since: 'Từ',
  critical: 'Sự kiện nghiêm trọng (critical) trong tháng',
  message: 'Nội dung',
  time: 'Thời điểm',
  nothing: 'Không có.',
  noData: 'Không có dữ liệu trong tháng.',
  appendix: 'Phụ lục: truy vấn InfluxQL',
  appendixHow: 'Mọi số liệu trong báo cáo được tính từ các truy vấn dưới đây (cơ sở dữ liệu',
  sev: { critical: 'nghiêm trọng', high: 'cao', medium: 'trung bình', low: 'thấp', info: 'thông tin' } as Record<string, string>,
  kinds: { ping: 'Ping', http: 'HTTP' } as Record<string, string>,
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
  servicesHow: 'Each check (ping or HTTP) is one sample. A sample counts as down when result_code is not 0 or, for ping, 100 % of packets were lost. Availability = up samples / all samples; minutes down = down samples × the check interval (the median gap between consecutive samples).',
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
  bandwidthHow: 'Mean and peak traffic in/out (bit/s) from SNMP (in_bps, out_bps) and from hosts (bytes_recv_rate, bytes_sent_rate × 8). Charts: daily peak and mean.',
  device: 'Device',
  iface: 'Interface',
  meanIn: 'Mean in',
  meanOut: 'Mean out',
  peakIn: 'Peak in',
  peakOut: 'Peak out',
  at: 'at',
  agents: 'Agents online',
  agentsHow: "Share of 5-minute intervals holding at least one of the agent's own points, from the month's start (or its first report) to the month's end.",
  host: 'Host',
  online: 'Online',
  disconnects: 'Disconnections',
  events: 'Security events',
  eventsHow: 'Occurrences = sum of the count field (an aggregated event such as 30 failed logins counts 30).',
  type: 'Event type',
  severity: 'Severity',
  records: 'Records',
  occurrences: 'Occurrences',
  total: 'Total',
  perDay: 'Security events per day',
  topSources: 'Top source addresses',
  webAttacks: 'Attacks on web portals',
  webAttacksHow: 'From the web servers’ access logs: scanning, probing for sensitive files and admin pages, injections, exploits of known vulnerabilities, login brute force.',
  webSite: 'Web site',
  webRequests: 'Attack requests',
  webSources: 'Source addresses',
  webExploits: 'Exploit attempts',
  source: 'Source address',
  alerts: 'Alerts',
  alertsHow: 'Each change to firing is one alert; time to resolve = resolved time − firing time of the same rule and host.',
  fired: 'Alerts fired',
  resolved: 'Resolved',
  mttr: 'Mean time to resolve',
  rule: 'Rule',
  firedAt: 'Fired',
  resolvedAt: 'Resolved',
  unresolved: 'unresolved',
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
  sev: { critical: 'critical', high: 'high', medium: 'medium', low: 'low', info: 'info' },
  kinds: { ping: 'Ping', http: 'HTTP' },
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
    const h = Math.floor(m / 60);
    return `${this.num(h)} ${this.t.hours} ${this.num(Math.round(m - h * 60))} ${this.t.minutes}`;
  }
  /** dd/mm/yyyy hh:mm in both languages (the agencies' own convention), in the report's zone. */
  dateTime(t: number): string {
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone: this.timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(t);
    const p = (type: string): string => parts.find((x) => x.type === type)?.value ?? '';
    return `${p('day')}/${p('month')}/${p('year')} ${p('hour')}:${p('minute')}`;
  }
  date(t: number): string {
    return new Intl.DateTimeFormat(this.locale, { timeZone: this.timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(t);
  }
}
