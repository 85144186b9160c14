// NOC: the wall screen of the data center, read at 1920×1080 from three metres. Big
// coloured tiles only, no tables of raw tags: firing alerts by severity, collector and
// InfluxDB health, then per agency (agents offline, open alerts, uplink loss), the portals
// and public services (up or down, response time), and the network (SNMP devices, uplink
// utilisation). Green is fine, amber needs a look, red needs someone now.
import { severityName } from '@canh/core';
import * as dash from '@grafana/grafana-foundation-sdk/dashboard';
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { influx } from '../influxql.ts';
import { COMMON, tr, type Lang, type Text } from '../i18n.ts';
import { SCOPE, SEVERITY_COLORS, STATE_WINDOW, canhDashboard, row, stat, valueMap } from '../panels.ts';

const AGENCY = `"agency" =~ /^$agency$/`;
const ALERT_SCOPE = `"agency" =~ /^$agency$/ AND "host" =~ /^$host$/`;
/** Each alert instance's last state (the alert measurement has one series per instance). */
const LAST_ALERT_STATE = `SELECT last("state") AS "state" FROM "alert" WHERE ${ALERT_SCOPE} AND ${STATE_WINDOW} GROUP BY *`;
const LAST_ONLINE = `SELECT last("online") AS "online" FROM "agent" WHERE ${SCOPE} AND ${STATE_WINDOW} GROUP BY "agency", "site", "host"`;
const UPLINK_IF = `"ifAlias" =~ /(?i)uplink|wan|internet/`;

/** result_code 0 is up; any other code (timeout, refused, wrong answer...) is down. */
function upDown(lang: Lang, upValue: number): dash.ValueMapping[] {
  const up = valueMap({ [String(upValue)]: { text: tr(lang, COMMON.up), color: 'green' } });
  const down: dash.ValueMapping =
    upValue === 0
      ? { type: dash.MappingType.RangeToText, options: { from: 1, to: 1000, result: { text: tr(lang, COMMON.down), color: 'red', index: 1 } } }
      : valueMap({ '0': { text: tr(lang, COMMON.down), color: 'red' } });
  return [up, down];
}

const T = {
  alerts: { en: 'Firing alerts', vi: 'Cảnh báo đang kích hoạt' },
  agencies: { en: 'Agencies', vi: 'Cơ quan' },
  services: { en: 'Portals and public services', vi: 'Cổng thông tin và dịch vụ công' },
  network: { en: 'Uplinks and network devices', vi: 'Đường truyền và thiết bị mạng' },
} satisfies Record<string, Text>;

export function noc(lang: Lang): DashboardBuilder {
  return canhDashboard(lang, {
    key: 'noc',
    title: { en: 'Canh — NOC wall screen', vi: 'Canh — Màn hình giám sát (NOC)' },
    description: {
      en: 'For the wall of the data center: firing alerts, collector health, each agency, portals and services, uplinks and network devices, in big red/amber/green tiles.',
      vi: 'Cho màn hình lớn của trung tâm dữ liệu: cảnh báo đang kích hoạt, tình trạng máy thu thập, từng cơ quan, cổng thông tin và dịch vụ, đường truyền và thiết bị mạng, bằng các ô lớn đỏ/vàng/xanh.',
    },
  })
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .withRow(row(lang, T.alerts))
    .withPanel(
      stat(lang, {
        title: { en: 'Firing alerts by severity', vi: 'Cảnh báo đang kích hoạt theo mức độ' },
        description: {
          en: 'Alert instances firing now, one tile per severity in its colour (critical dark red, high red, medium amber, low yellow); no tile, nothing firing. One rule firing for two ports counts 2. The Fleet dashboard has the list.',
          vi: 'Số cảnh báo đang kích hoạt, mỗi mức độ một ô theo màu của nó (nghiêm trọng đỏ sẫm, cao đỏ, trung bình vàng cam, thấp vàng); không có ô nào là không có cảnh báo. Một quy tắc kích hoạt cho hai cổng tính là 2. Danh sách ở bảng Tổng quan hệ thống.',
        },
        queries: [influx(`SELECT count("state") FROM (${LAST_ALERT_STATE}) WHERE "state" = 'firing' GROUP BY "severity"`).alias('$tag_severity')],
        thresholds: { base: 'green', steps: [[1, 'red']] },
        decimals: 0,
        noValue: '0',
        tiles: true,
        w: 12,
        h: 6,
      }).overrides(
        Object.entries(SEVERITY_COLORS).map(([severity, color]) => ({
          matcher: { id: 'byName', options: severity },
          properties: [
            { id: 'color', value: { mode: 'fixed', fixedColor: color } },
            { id: 'displayName', value: severityName(severity, lang) },
          ],
        })),
      ),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Collector', vi: 'Máy thu thập' },
        description: {
          en: 'Agents connected to the collector now, from its own health point written every 10 seconds. “Silent”: the collector has written nothing for a minute (stopped, or InfluxDB cannot take its writes).',
          vi: 'Số tác tử đang kết nối tới máy thu thập, theo điểm tình trạng nó ghi mỗi 10 giây. “Im lặng”: máy thu thập không ghi gì trong một phút (đã dừng, hoặc InfluxDB không nhận dữ liệu).',
        },
        queries: [
          influx(`SELECT last("agents_connected") FROM "collector" WHERE time > now() - 1m`).alias(tr(lang, { en: 'agents connected', vi: 'tác tử kết nối' })),
        ],
        thresholds: { base: 'green', steps: [] },
        decimals: 0,
        noValue: tr(lang, { en: 'Silent', vi: 'Im lặng' }),
        tiles: true,
        w: 4,
        h: 6,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'InfluxDB writes', vi: 'Ghi vào InfluxDB' },
        description: {
          en: 'Whether the collector’s last writes to InfluxDB succeeded. Failing: data waits in the collector’s spool (next tile) and nothing is lost while it has room.',
          vi: 'Các lần ghi gần nhất của máy thu thập vào InfluxDB có thành công không. Lỗi: dữ liệu chờ trong hàng đợi của máy thu thập (ô bên cạnh), không mất khi còn chỗ.',
        },
        queries: [influx(`SELECT last("influx_healthy") FROM "collector" WHERE ${STATE_WINDOW}`)],
        mappings: [valueMap({ '1': { text: 'OK', color: 'green' }, '0': { text: tr(lang, { en: 'Failing', vi: 'Lỗi' }), color: 'red' } })],
        tiles: true,
        w: 4,
        h: 6,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Waiting to be written', vi: 'Đang chờ ghi' },
        description: {
          en: 'Records in the collector’s spool plus lines queued for InfluxDB. It should be 0; growing means InfluxDB is down or too slow.',
          vi: 'Số bản ghi trong hàng đợi trên đĩa của máy thu thập cộng số dòng chờ gửi tới InfluxDB. Bình thường là 0; tăng dần nghĩa là InfluxDB ngừng hoặc quá chậm.',
        },
        queries: [influx(`SELECT last("spooled") + last("influx_queued") FROM "collector" WHERE ${STATE_WINDOW}`)],
        thresholds: {
          base: 'green',
          steps: [
            [1, 'orange'],
            [10_000, 'red'],
          ],
        },
        decimals: 0,
        tiles: true,
        w: 4,
        h: 6,
      }),
    )
    .withRow(row(lang, T.agencies))
    .withPanel(
      stat(lang, {
        title: { en: 'Agents offline', vi: 'Tác tử mất kết nối' },
        description: {
          en: 'Per agency: agents whose last state is disconnected. Green 0, red any.',
          vi: 'Theo cơ quan: số tác tử có trạng thái cuối là mất kết nối. Xanh là 0, đỏ là có.',
        },
        queries: [influx(`SELECT count("online") - sum("online") FROM (${LAST_ONLINE}) GROUP BY "agency"`).alias('$tag_agency')],
        thresholds: { base: 'green', steps: [[1, 'red']] },
        decimals: 0,
        tiles: true,
        w: 8,
        h: 7,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Open alerts', vi: 'Cảnh báo đang mở' },
        description: {
          en: 'Per agency: alert instances firing now. Amber 1–2, red 3 or more. Province-wide alerts (an attacker seen across agencies) have no agency.',
          vi: 'Theo cơ quan: số cảnh báo đang kích hoạt. Vàng 1–2, đỏ từ 3. Cảnh báo toàn tỉnh (kẻ tấn công thấy ở nhiều cơ quan) không thuộc cơ quan nào.',
        },
        queries: [influx(`SELECT count("state") FROM (${LAST_ALERT_STATE}) WHERE "state" = 'firing' GROUP BY "agency"`).alias('$tag_agency')],
        thresholds: {
          base: 'green',
          steps: [
            [1, 'orange'],
            [3, 'red'],
          ],
        },
        decimals: 0,
        tiles: true,
        w: 8,
        h: 7,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Uplink packet loss', vi: 'Mất gói trên đường truyền' },
        description: {
          en: 'Per agency: packet loss of the last ping of its uplink, probed from the data center (ping targets tagged role: uplink and target_agency). Red at 100 %: the agency is cut off.',
          vi: 'Theo cơ quan: tỉ lệ mất gói của lần ping gần nhất tới đường truyền của cơ quan, đo từ trung tâm dữ liệu (đích ping gắn role: uplink và target_agency). Đỏ ở 100 %: cơ quan bị mất kết nối.',
        },
        queries: [
          influx(
            `SELECT last("percent_packet_loss") FROM "ping" WHERE "role" = 'uplink' AND "target_agency" =~ /^$agency$/ AND ${STATE_WINDOW} GROUP BY "target_agency"`,
          ).alias('$tag_target_agency'),
        ],
        unit: 'percent',
        thresholds: {
          base: 'green',
          steps: [
            [1, 'orange'],
            [100, 'red'],
          ],
        },
        decimals: 0,
        tiles: true,
        w: 8,
        h: 7,
      }),
    )
    .withRow(row(lang, T.services))
    .withPanel(
      stat(lang, {
        title: { en: 'Web portals', vi: 'Cổng thông tin điện tử' },
        description: {
          en: 'Each checked site: up when its last check succeeded (right status, content found).',
          vi: 'Từng trang được kiểm tra: hoạt động khi lần kiểm tra gần nhất thành công (đúng mã trạng thái, có nội dung).',
        },
        queries: [influx(`SELECT last("result_code") FROM "http_response" WHERE ${AGENCY} AND ${STATE_WINDOW} GROUP BY "server"`).alias('$tag_server')],
        mappings: upDown(lang, 0),
        thresholds: { base: 'green', steps: [[1, 'red']] },
        tiles: true,
        w: 8,
        h: 7,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Portal response time', vi: 'Thời gian phản hồi cổng thông tin' },
        description: {
          en: 'Each site: time to the response headers at its last check. Amber above 1 s, red above 3 s.',
          vi: 'Từng trang: thời gian tới khi nhận phần đầu phản hồi ở lần kiểm tra gần nhất. Vàng trên 1 giây, đỏ trên 3 giây.',
        },
        queries: [influx(`SELECT last("response_time") FROM "http_response" WHERE ${AGENCY} AND ${STATE_WINDOW} GROUP BY "server"`).alias('$tag_server')],
        unit: 's',
        thresholds: {
          base: 'green',
          steps: [
            [1, 'orange'],
            [3, 'red'],
          ],
        },
        tiles: true,
        w: 8,
        h: 7,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Public services (TCP)', vi: 'Dịch vụ công (TCP)' },
        description: {
          en: 'Each checked service port (mail, DNS, databases...): up when its last check connected and got the expected answer.',
          vi: 'Từng cổng dịch vụ được kiểm tra (thư, DNS, cơ sở dữ liệu...): hoạt động khi lần kiểm tra gần nhất kết nối được và nhận đúng câu trả lời.',
        },
        queries: [
          influx(`SELECT last("result_code") FROM "net_response" WHERE ${AGENCY} AND ${STATE_WINDOW} GROUP BY "server", "port"`).alias('$tag_server:$tag_port'),
        ],
        mappings: upDown(lang, 0),
        thresholds: { base: 'green', steps: [[1, 'red']] },
        tiles: true,
        w: 8,
        h: 7,
      }),
    )
    .withRow(row(lang, T.network))
    .withPanel(
      stat(lang, {
        title: { en: 'SNMP devices', vi: 'Thiết bị SNMP' },
        description: {
          en: 'Each switch and router polled by SNMP: up when it answered its last poll.',
          vi: 'Từng thiết bị chuyển mạch, định tuyến được hỏi qua SNMP: hoạt động khi trả lời lần hỏi gần nhất.',
        },
        queries: [influx(`SELECT last("up") FROM "snmp" WHERE ${AGENCY} AND ${STATE_WINDOW} GROUP BY "device"`).alias('$tag_device')],
        mappings: upDown(lang, 1),
        thresholds: { base: 'red', steps: [[1, 'green']] },
        tiles: true,
        w: 12,
        h: 7,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Uplink utilisation', vi: 'Mức sử dụng đường truyền' },
        description: {
          en: 'Each uplink interface (description says uplink, WAN or internet), in and out, at its last poll. Amber above 70 %, red above 90 %.',
          vi: 'Từng cổng đường truyền lên (mô tả có uplink, WAN hoặc internet), chiều vào và ra, ở lần hỏi gần nhất. Vàng trên 70 %, đỏ trên 90 %.',
        },
        queries: [
          influx(
            `SELECT last("in_utilization") AS "in", last("out_utilization") AS "out" FROM "interface" WHERE ${AGENCY} AND ${UPLINK_IF} AND ${STATE_WINDOW} GROUP BY "agency", "device", "ifName"`,
          ).alias('$tag_agency $tag_ifName $col'),
        ],
        unit: 'percent',
        thresholds: {
          base: 'green',
          steps: [
            [70, 'orange'],
            [90, 'red'],
          ],
        },
        decimals: 0,
        tiles: true,
        w: 12,
        h: 7,
      }),
    );
}
