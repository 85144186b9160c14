// Uptime and services: can the province's public services be reached, how fast, and
// when do their certificates run out. Checks run on agents, so each result also says
// from where (host) the service was checked.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { influx } from '../influxql.ts';
import { COMMON, type Lang } from '../i18n.ts';
import { COLOR_CELL, SCOPE, canhDashboard, row, table, timeseries, cellThresholds } from '../panels.ts';

// Availability tables: worst first, red below 99 %, amber below 99.9 %.
const AVAILABILITY_TABLE = {
  hide: ['Time'],
  sortBy: { column: 'availability', desc: false },
  columnOptions: {
    availability: [
      { id: 'unit', value: 'percent' },
      { id: 'decimals', value: 2 },
      COLOR_CELL,
      cellThresholds('red', [
        [99, 'orange'],
        [99.9, 'green'],
      ]),
    ],
  },
};
const PCT_AVAIL = { unit: 'percent', min: 0, max: 100, decimals: 2 } as const;
// result_code is 0 for success and a small positive code for each kind of failure
// (Telegraf's convention): ceil(code / 1000) is 0 for a success and 1 for a failure.
const FAILED = `ceil("result_code" / 1000)`;

export function uptime(lang: Lang): DashboardBuilder {
  return canhDashboard(lang, {
    key: 'uptime',
    title: { en: 'Canh — Uptime and services', vi: 'Canh — Tính sẵn sàng của dịch vụ' },
    description: {
      en: 'Reachability and speed of the monitored services: ping loss and latency, web site availability and response time, TCP port checks, and certificates about to expire.',
      vi: 'Khả năng truy cập và tốc độ của các dịch vụ được giám sát: mất gói và độ trễ ping, tính sẵn sàng và thời gian phản hồi của trang web, kiểm tra cổng TCP và chứng chỉ sắp hết hạn.',
    },
  })
    .withRow(row(lang, { en: 'Ping', vi: 'Ping' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'Packet loss per target', vi: 'Tỷ lệ mất gói theo đích' },
        description: {
          en: 'Share of ping packets without an answer. 100 % means the target is unreachable from that host.',
          vi: 'Tỷ lệ gói ping không được trả lời. 100 % nghĩa là không tới được đích từ máy đó.',
        },
        queries: [
          influx(`SELECT mean("percent_packet_loss") FROM "ping" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "url", "host" fill(null)`).alias(
            '$tag_url (from $tag_host)',
          ),
        ],
        unit: 'percent',
        min: 0,
        max: 100,
        thresholds: {
          steps: [
            [5, 'orange'],
            [50, 'red'],
          ],
        },
        showThresholds: true,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Round-trip time per target', vi: 'Độ trễ khứ hồi theo đích' },
        description: { en: 'Average ping round-trip time, and its jitter.', vi: 'Thời gian khứ hồi ping trung bình và độ dao động.' },
        queries: [
          influx(`SELECT mean("average_response_ms") FROM "ping" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "url", "host" fill(null)`).alias(
            '$tag_url (from $tag_host)',
          ),
          influx(`SELECT mean("jitter_ms") FROM "ping" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "url", "host" fill(null)`).alias(
            '$tag_url jitter (from $tag_host)',
          ),
        ],
        unit: 'ms',
        min: 0,
      }),
    )
    .withRow(row(lang, { en: 'Web sites', vi: 'Trang web' }))
    .withPanel(
      table(lang, {
        title: { en: 'Web site availability', vi: 'Tính sẵn sàng của trang web' },
        description: {
          en: 'Share of HTTP checks in the time range that succeeded (answer received, expected status and content), per site and checking host.',
          vi: 'Tỷ lệ lần kiểm tra HTTP thành công (có phản hồi, đúng mã trạng thái và nội dung) trong khoảng thời gian, theo trang và máy kiểm tra.',
        },
        queries: [
          influx(
            `SELECT 100 * (1 - mean("failed")) AS "availability" FROM (SELECT ${FAILED} AS "failed" FROM "http_response" WHERE ${SCOPE} AND $timeFilter) GROUP BY "server", "host"`,
          ),
        ],
        columns: {
          server: { en: 'Site', vi: 'Trang web' },
          host: { en: 'Checked from', vi: 'Kiểm tra từ' },
          availability: { en: 'Availability', vi: 'Sẵn sàng' },
        },
        ...AVAILABILITY_TABLE,
        w: 10,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Web site availability over time', vi: 'Tính sẵn sàng của trang web theo thời gian' },
        description: { en: 'Share of successful HTTP checks in each interval.', vi: 'Tỷ lệ lần kiểm tra HTTP thành công trong mỗi khoảng.' },
        queries: [
          influx(
            `SELECT 100 * (1 - mean("failed")) FROM (SELECT ${FAILED} AS "failed" FROM "http_response" WHERE ${SCOPE} AND $timeFilter) WHERE $timeFilter GROUP BY time($__interval), "server" fill(none)`,
          ).alias('$tag_server'),
        ],
        ...PCT_AVAIL,
        thresholds: {
          base: 'red',
          steps: [
            [99, 'orange'],
            [99.9, 'green'],
          ],
        },
        w: 14,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Web response time', vi: 'Thời gian phản hồi của trang web' },
        description: {
          en: 'Time from sending the request to the response headers (redirects included), per site.',
          vi: 'Thời gian từ khi gửi yêu cầu tới khi nhận phần đầu của phản hồi (kể cả chuyển hướng), theo từng trang.',
        },
        queries: [
          influx(
            `SELECT mean("response_time") FROM "http_response" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "server", "host" fill(null)`,
          ).alias('$tag_server (from $tag_host)'),
        ],
        unit: 's',
        min: 0,
        thresholds: {
          steps: [
            [1, 'orange'],
            [3, 'red'],
          ],
        },
        showThresholds: true,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Latest web check', vi: 'Lần kiểm tra web gần nhất' },
        description: {
          en: 'Result, HTTP status and response time of the last check of each site.',
          vi: 'Kết quả, mã trạng thái HTTP và thời gian phản hồi của lần kiểm tra gần nhất.',
        },
        queries: [
          influx(
            // One row per check (site, method, the host that checks it): the result is the
            // last point's field, not a GROUP BY tag, so an old failure does not linger as a row.
            `SELECT last("result_code") AS "result_code", "result_type" AS "result", "http_response_code", "response_time" FROM "http_response" WHERE ${SCOPE} AND $timeFilter GROUP BY "server", "method", "host"`,
          ),
        ],
        columns: {
          Time: COMMON.time,
          server: { en: 'Site', vi: 'Trang web' },
          method: { en: 'Method', vi: 'Phương thức' },
          host: { en: 'Checked from', vi: 'Kiểm tra từ' },
          result: { en: 'Result', vi: 'Kết quả' },
          http_response_code: { en: 'HTTP status', vi: 'Mã HTTP' },
          response_time: { en: 'Response time', vi: 'Thời gian phản hồi' },
        },
        hide: ['result_code'],
        sortBy: { column: 'Time', desc: true },
        columnOptions: { response_time: [{ id: 'unit', value: 's' }] },
        w: 12,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Where the time goes', vi: 'Thời gian dành cho từng giai đoạn' },
        description: {
          en: 'Phases of each check, from its start, as curl -w gives them: name resolved (DNS), connected, TLS handshake done, first byte of the answer, whole answer. A large gap says where the delay is: DNS, the network, TLS or the server itself.',
          vi: 'Các giai đoạn của mỗi lần kiểm tra, tính từ lúc bắt đầu, như curl -w: phân giải tên (DNS), kết nối xong, bắt tay TLS xong, byte đầu tiên của phản hồi, toàn bộ phản hồi. Khoảng cách lớn cho biết chậm ở đâu: DNS, mạng, TLS hay chính máy chủ.',
        },
        queries: [
          influx(
            `SELECT mean("dns_time") AS "DNS", mean("connect_time") AS "connect", mean("tls_time") AS "TLS", mean("ttfb") AS "first byte", mean("total_time") AS "total" FROM "http_response" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "server" fill(null)`,
          ).alias('$tag_server $col'),
        ],
        unit: 's',
        min: 0,
        w: 24,
      }),
    )
    .withRow(row(lang, { en: 'TCP services', vi: 'Dịch vụ TCP' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'TCP connect time', vi: 'Thời gian kết nối TCP' },
        description: {
          en: 'Time to open a TCP connection to each checked port (mail, DNS, databases...).',
          vi: 'Thời gian mở kết nối TCP tới từng cổng được kiểm tra (thư điện tử, DNS, cơ sở dữ liệu...).',
        },
        queries: [
          influx(
            `SELECT mean("response_time") FROM "net_response" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "server", "port", "host" fill(null)`,
          ).alias('$tag_server:$tag_port (from $tag_host)'),
        ],
        unit: 's',
        min: 0,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'TCP checks', vi: 'Kiểm tra cổng TCP' },
        description: {
          en: 'Availability of each checked port in the time range, and the last result.',
          vi: 'Tính sẵn sàng của từng cổng trong khoảng thời gian, và kết quả gần nhất.',
        },
        queries: [
          influx(
            `SELECT 100 * (1 - mean("failed")) AS "availability" FROM (SELECT ${FAILED} AS "failed" FROM "net_response" WHERE ${SCOPE} AND $timeFilter) GROUP BY "server", "port", "protocol", "host"`,
          ),
        ],
        columns: {
          server: { en: 'Server', vi: 'Máy chủ' },
          port: COMMON.port,
          protocol: { en: 'Protocol', vi: 'Giao thức' },
          host: { en: 'Checked from', vi: 'Kiểm tra từ' },
          availability: { en: 'Availability', vi: 'Sẵn sàng' },
        },
        ...AVAILABILITY_TABLE,
      }),
    )
    .withRow(row(lang, { en: 'Certificates', vi: 'Chứng chỉ' }))
    .withPanel(
      table(lang, {
        title: { en: 'Certificate expiry', vi: 'Hạn dùng chứng chỉ' },
        description: {
          en: 'Days left before each TLS certificate (checked directly, or by a web check over https) expires, soonest first. Renew before 30 days; under 14 days browsers will soon refuse the site.',
          vi: 'Số ngày còn lại trước khi mỗi chứng chỉ TLS (kiểm tra trực tiếp, hoặc qua kiểm tra web https) hết hạn, sắp hết trước. Gia hạn trước 30 ngày; dưới 14 ngày trình duyệt sắp từ chối trang web.',
        },
        queries: [
          influx(
            `SELECT last("expiry") / 86400 AS "days_left", "verification_code" FROM "x509_cert" WHERE ${SCOPE} AND $timeFilter GROUP BY "source", "common_name", "host"`,
          ),
          // Web checks over https read the site's certificate too.
          influx(`SELECT last("tls_expiry_days") AS "days_left", "tls_error" FROM "http_response" WHERE ${SCOPE} AND $timeFilter GROUP BY "server", "host"`),
        ],
        columns: {
          source: { en: 'Checked address', vi: 'Địa chỉ kiểm tra' },
          server: { en: 'Web site', vi: 'Trang web' },
          tls_error: { en: 'TLS error', vi: 'Lỗi TLS' },
          common_name: { en: 'Certificate name', vi: 'Tên chứng chỉ' },
          host: { en: 'Checked from', vi: 'Kiểm tra từ' },
          days_left: { en: 'Days left', vi: 'Số ngày còn lại' },
          verification_code: { en: 'Verification (0 = valid chain)', vi: 'Xác thực (0 = chuỗi hợp lệ)' },
        },
        hide: ['Time'],
        sortBy: { column: 'days_left', desc: false },
        columnOptions: {
          days_left: [
            { id: 'decimals', value: 0 },
            COLOR_CELL,
            cellThresholds('red', [
              [14, 'orange'],
              [30, 'green'],
            ]),
          ],
        },
        w: 24,
      }),
    );
}
