// Security: what the detectors on the agents saw: events over time by type, severity
// and agency; who is trying passwords; brute-force attacks; attacks on web portals;
// changed system files and defaced web sites; new listening ports; new or spoofed devices on agency LANs.
import { severityName } from '@canh/core';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { influx } from '../influxql.ts';
import { COMMON, type Lang, type Text } from '../i18n.ts';
import { COLOR_CELL, SCOPE, SEVERITY_COLORS, bargauge, canhDashboard, row, severityMapping, table, timeseries } from '../panels.ts';

const EV = `FROM "security_event" WHERE ${SCOPE}`;
/**
 * Failed logins are counted per source address by the auth_log (Linux) and
 * windows_eventlog detectors; past a threshold they raise `brute_force`, whose count is
 * the failures it stands for. `brute_force_success` is a login that followed one.
 */
const FAILED_LOGIN = `"type" = 'brute_force'`;
const BRUTE_FORCE = `"type" =~ /^brute_force/`;

const EVIDENCE: Record<string, Text> = {
  Time: COMMON.time,
  host: COMMON.host,
  agency: COMMON.agency,
  severity: COMMON.severity,
  type: COMMON.type,
  message: COMMON.message,
  count: COMMON.count,
  src_ip: COMMON.source,
  user: COMMON.user,
  users: { en: 'Users tried', vi: 'Tài khoản bị thử' },
  path: COMMON.path,
  port: COMMON.port,
  proto: { en: 'Protocol', vi: 'Giao thức' },
  address: { en: 'Listening address', vi: 'Địa chỉ lắng nghe' },
  process: { en: 'Process', vi: 'Tiến trình' },
  ip: { en: 'IP address', vi: 'Địa chỉ IP' },
  mac: { en: 'MAC address', vi: 'Địa chỉ MAC' },
  site: { en: 'Web site', vi: 'Trang web' },
  samples: { en: 'Sample requests', vi: 'Yêu cầu mẫu' },
  cve: { en: 'CVE', vi: 'CVE' },
};

/** Attacks on web portals, from the web_access detector's reading of access logs. */
const WEB = `"detector" = 'web_access'`;

export function security(lang: Lang): DashboardBuilder {
  const severityCell = [COLOR_CELL, { id: 'mappings', value: [severityMapping(lang)] }];
  const events = (title: Text, description: Text, where: string, fields: string[]) =>
    table(lang, {
      title,
      description,
      queries: [
        influx(`SELECT "severity", "type", "host", ${fields.map((f) => `"${f}"`).join(', ')} ${EV} AND ${where} AND $timeFilter ORDER BY time DESC LIMIT 200`),
      ],
      columns: EVIDENCE,
      sortBy: { column: 'Time', desc: true },
      columnOptions: { severity: severityCell },
    });

  /** The 20 values of an evidence field (a field, not a tag: Grafana groups them) with the most occurrences. */
  const topBy = (o: { title: Text; description: Text; field: string; where: string; column: Text; sum: Text }) =>
    table(lang, {
      title: o.title,
      description: o.description,
      queries: [influx(`SELECT "${o.field}", "count" ${EV} AND ${o.where} AND $timeFilter`)],
      transformations: [
        {
          id: 'groupBy',
          options: { fields: { [o.field]: { operation: 'groupby', aggregations: [] }, count: { operation: 'aggregate', aggregations: ['sum'] } } },
        },
        { id: 'sortBy', options: { sort: [{ field: 'count (sum)', desc: true }] } },
        { id: 'limit', options: { limitField: 20 } },
      ],
      columns: { [o.field]: o.column, 'count (sum)': o.sum },
      sortBy: { column: 'count (sum)', desc: true },
      w: 8,
    });

  return canhDashboard(lang, {
    key: 'security',
    title: { en: 'Canh — Security', vi: 'Canh — An ninh mạng' },
    description: {
      en: 'Security events from the agents’ detectors: over time by type, severity and agency; failed logins and brute-force attacks; changed system files and possible defacements; new listening ports; new or spoofed LAN devices.',
      vi: 'Sự kiện an ninh từ các bộ phát hiện trên tác tử: theo thời gian, loại, mức độ và cơ quan; đăng nhập thất bại và tấn công dò mật khẩu; tệp hệ thống bị thay đổi và nghi thay đổi giao diện trang web; cổng lắng nghe mới; thiết bị lạ hoặc giả mạo trong mạng LAN.',
    },
  })
    .withRow(row(lang, { en: 'Overview', vi: 'Tổng quan' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'Events by type', vi: 'Sự kiện theo loại' },
        description: { en: 'Security events per interval, by what was detected.', vi: 'Số sự kiện an ninh trong mỗi khoảng, theo loại phát hiện.' },
        queries: [influx(`SELECT sum("count") ${EV} AND $timeFilter GROUP BY time($__interval), "type" fill(none)`).alias('$tag_type')],
        unit: 'short',
        bars: true,
        stack: true,
        legendCalcs: ['sum'],
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Events by severity', vi: 'Sự kiện theo mức độ' },
        description: {
          en: 'Security events per interval, by severity: critical, high, medium, low, info.',
          vi: 'Số sự kiện an ninh trong mỗi khoảng, theo mức độ: nghiêm trọng, cao, trung bình, thấp, thông tin.',
        },
        queries: [influx(`SELECT sum("count") ${EV} AND $timeFilter GROUP BY time($__interval), "severity" fill(none)`).alias('$tag_severity')],
        unit: 'short',
        bars: true,
        stack: true,
        legendCalcs: ['sum'],
      }).overrides(
        Object.entries(SEVERITY_COLORS).map(([name, color]) => ({
          matcher: { id: 'byName', options: name },
          properties: [
            { id: 'color', value: { mode: 'fixed', fixedColor: color } },
            { id: 'displayName', value: severityName(name, lang) },
          ],
        })),
      ),
    )
    .withPanel(
      bargauge(lang, {
        title: { en: 'Events by agency', vi: 'Sự kiện theo cơ quan' },
        description: { en: 'Security events in the time range, per agency.', vi: 'Số sự kiện an ninh trong khoảng thời gian, theo cơ quan.' },
        queries: [influx(`SELECT sum("count") ${EV} AND $timeFilter GROUP BY "agency"`).alias('$tag_agency')],
        calc: 'sum',
        unit: 'short',
        thresholds: { base: 'blue', steps: [] },
        w: 8,
      }),
    )
    .withPanel(
      bargauge(lang, {
        title: { en: 'High and critical events by host', vi: 'Sự kiện mức cao và nghiêm trọng theo máy' },
        description: {
          en: 'Hosts with the most high or critical events: look at these first.',
          vi: 'Các máy có nhiều sự kiện mức cao hoặc nghiêm trọng nhất: cần xem trước tiên.',
        },
        queries: [influx(`SELECT sum("count") ${EV} AND "severity" =~ /^(high|critical)$/ AND $timeFilter GROUP BY "host"`).alias('$tag_host')],
        calc: 'sum',
        unit: 'short',
        thresholds: { base: 'red', steps: [] },
        w: 8,
      }),
    )
    .withPanel(
      topBy({
        title: { en: 'Top sources of failed logins', vi: 'Các địa chỉ đăng nhập thất bại nhiều nhất' },
        description: {
          en: 'Source addresses with the most failed logins (SSH, Windows logon...) in the time range. Addresses outside the province’s networks trying many users are attackers.',
          vi: 'Các địa chỉ nguồn có nhiều lần đăng nhập thất bại nhất (SSH, đăng nhập Windows...) trong khoảng thời gian. Địa chỉ ngoài mạng của tỉnh thử nhiều tài khoản là kẻ tấn công.',
        },
        field: 'src_ip',
        where: FAILED_LOGIN,
        column: COMMON.source,
        sum: { en: 'Failed logins', vi: 'Số lần thất bại' },
      }),
    )
    .withRow(row(lang, { en: 'Attacks on accounts', vi: 'Tấn công tài khoản' }))
    .withPanel(
      events(
        { en: 'Brute-force attacks', vi: 'Tấn công dò mật khẩu' },
        {
          en: 'Many failed logins from one address in a short time: someone is guessing passwords. brute_force_success means a login then succeeded: treat that account as compromised. Block the source address at the firewall if it is not ours.',
          vi: 'Nhiều lần đăng nhập thất bại từ một địa chỉ trong thời gian ngắn: có người đang dò mật khẩu. brute_force_success nghĩa là sau đó đã đăng nhập được: coi tài khoản đó đã bị chiếm. Chặn địa chỉ nguồn tại tường lửa nếu không phải của ta.',
        },
        BRUTE_FORCE,
        ['src_ip', 'users', 'count', 'message'],
      ),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Failed logins in attacks', vi: 'Đăng nhập thất bại trong các đợt tấn công' },
        description: {
          en: 'Failed logins counted in brute-force attacks, per interval and attacked host.',
          vi: 'Số lần đăng nhập thất bại trong các đợt tấn công dò mật khẩu, theo khoảng thời gian và máy bị tấn công.',
        },
        queries: [influx(`SELECT sum("count") ${EV} AND ${FAILED_LOGIN} AND $timeFilter GROUP BY time($__interval), "host" fill(none)`).alias('$tag_host')],
        unit: 'short',
        bars: true,
        stack: true,
        legendCalcs: ['sum'],
      }),
    )
    .withRow(row(lang, { en: 'Attacks on web portals', vi: 'Tấn công cổng thông tin, trang web' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'Web attacks by type', vi: 'Tấn công trang web theo loại' },
        description: {
          en: 'Requests in web attacks per interval, by kind: scanning, probing for sensitive files or admin pages, injections, exploits of known vulnerabilities, login brute force.',
          vi: 'Số yêu cầu trong các đợt tấn công trang web theo khoảng thời gian, theo loại: dò quét, tìm tệp nhạy cảm hoặc trang quản trị, chèn mã, khai thác lỗ hổng đã biết, dò mật khẩu đăng nhập.',
        },
        queries: [influx(`SELECT sum("count") ${EV} AND ${WEB} AND $timeFilter GROUP BY time($__interval), "type" fill(none)`).alias('$tag_type')],
        unit: 'short',
        bars: true,
        stack: true,
        legendCalcs: ['sum'],
        w: 8,
      }),
    )
    .withPanel(
      topBy({
        title: { en: 'Most attacked sites', vi: 'Các trang web bị tấn công nhiều nhất' },
        description: {
          en: 'Web sites (virtual hosts) with the most attack requests in the time range.',
          vi: 'Các trang web (tên miền) có nhiều yêu cầu tấn công nhất trong khoảng thời gian.',
        },
        field: 'site',
        where: WEB,
        column: { en: 'Web site', vi: 'Trang web' },
        sum: { en: 'Attack requests', vi: 'Số yêu cầu tấn công' },
      }),
    )
    .withPanel(
      topBy({
        title: { en: 'Top sources of web attacks', vi: 'Các địa chỉ tấn công trang web nhiều nhất' },
        description: {
          en: 'Source addresses with the most attack requests against the portals. Block those outside the province’s networks.',
          vi: 'Các địa chỉ nguồn gửi nhiều yêu cầu tấn công các cổng thông tin nhất. Chặn các địa chỉ ngoài mạng của tỉnh.',
        },
        field: 'src_ip',
        where: WEB,
        column: COMMON.source,
        sum: { en: 'Attack requests', vi: 'Số yêu cầu tấn công' },
      }),
    )
    .withPanel(
      events(
        { en: 'Web attacks', vi: 'Các đợt tấn công trang web' },
        {
          en: 'Each attack with its source, site and sample requests. web_exploit_attempt names the CVE tried: check that the site is patched. web_shell_access: look for the file on the server now.',
          vi: 'Từng đợt tấn công với địa chỉ nguồn, trang web và các yêu cầu mẫu. web_exploit_attempt nêu CVE bị thử: kiểm tra trang web đã vá chưa. web_shell_access: tìm tệp đó trên máy chủ ngay.',
        },
        WEB,
        ['src_ip', 'site', 'cve', 'count', 'samples', 'message'],
      ),
    )
    .withRow(row(lang, { en: 'Files and web sites', vi: 'Tệp tin và trang web' }))
    .withPanel(
      events(
        { en: 'File-integrity changes', vi: 'Thay đổi tệp hệ thống' },
        {
          en: 'Changes to accounts, sudo, SSH keys, cron and other watched files. A change nobody planned is how intruders keep their access.',
          vi: 'Thay đổi tài khoản, sudo, khóa SSH, cron và các tệp được giám sát khác. Thay đổi không có kế hoạch là cách kẻ xâm nhập duy trì quyền truy cập.',
        },
        `"detector" = 'file_integrity' AND "type" != 'possible_defacement'`,
        ['path', 'message', 'count'],
      ),
    )
    .withPanel(
      events(
        { en: 'Possible defacements', vi: 'Nghi thay đổi giao diện trang web' },
        {
          en: 'Files changed under a web root. Unless a deployment was planned, check the site now.',
          vi: 'Tệp bị thay đổi trong thư mục trang web. Nếu không có đợt cập nhật theo kế hoạch, kiểm tra trang web ngay.',
        },
        `"type" = 'possible_defacement'`,
        ['path', 'message', 'count'],
      ),
    )
    .withRow(row(lang, { en: 'Hosts and LANs', vi: 'Máy và mạng LAN' }))
    .withPanel(
      events(
        { en: 'New listening ports', vi: 'Cổng lắng nghe mới' },
        {
          en: 'Programs that started accepting connections. A new port nobody installed can be a backdoor.',
          vi: 'Chương trình bắt đầu nhận kết nối. Cổng mới không ai cài đặt có thể là cửa hậu.',
        },
        `"type" = 'new_listening_port'`,
        ['proto', 'address', 'port', 'process', 'message'],
      ),
    )
    .withPanel(
      events(
        { en: 'New or spoofed LAN devices', vi: 'Thiết bị mới hoặc giả mạo trong mạng LAN' },
        {
          en: 'Devices seen for the first time on an agency LAN, and addresses answered by a different MAC (ARP spoofing: someone is intercepting traffic).',
          vi: 'Thiết bị lần đầu xuất hiện trong mạng LAN của cơ quan, và địa chỉ được trả lời bởi một MAC khác (giả mạo ARP: có người đang nghe lén).',
        },
        `"detector" = 'lan_devices'`,
        ['ip', 'mac', 'message'],
      ),
    );
}
