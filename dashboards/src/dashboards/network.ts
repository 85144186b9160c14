// Network: agency uplinks and every interface of the switches and routers the agents poll
// by SNMP: bits per second, utilisation, errors, discards, up or down, and the busiest.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { influx } from '../influxql.ts';
import { COMMON, tr, type Lang } from '../i18n.ts';
import { COLOR_CELL, STATE_WINDOW, canhDashboard, row, stat, table, timeseries, valueMap, cellThresholds } from '../panels.ts';

/** SNMP points carry the polling agent's host, agency and site, and the device in `device` (and its address in agent_host). */
const POLLER = `"agency" =~ /^$agency$/ AND "site" =~ /^$site$/ AND "host" =~ /^$host$/`;
/** The device tag is the device's name in the agent config (its address, with the port when not 161). */
const ONE_DEVICE = `${POLLER} AND "device" =~ /^$device$/`;
const DEV = `${ONE_DEVICE} AND "ifName" =~ /^$ifname$/`;
/**
 * An agency's uplink is the device interface whose description (ifAlias) says so: name it
 * "uplink ..." or "WAN ..." on the switch or router, as most network teams already do.
 * (ifAlias is a field: the regexp condition works on fields and tags alike.)
 */
const UPLINK = `${POLLER} AND "ifAlias" =~ /(?i)uplink|wan|internet/`;
const BY_IF = `GROUP BY time($__interval), "device", "ifName" fill(null)`;

export function network(lang: Lang): DashboardBuilder {
  return canhDashboard(lang, {
    key: 'network',
    title: { en: 'Canh — Network', vi: 'Canh — Mạng' },
    description: {
      en: 'Bandwidth of each agency’s uplink, and traffic, utilisation, errors, discards and status of every switch and router interface polled by SNMP.',
      vi: 'Băng thông đường truyền lên của từng cơ quan; lưu lượng, mức sử dụng, lỗi, gói bị bỏ và trạng thái của mọi cổng trên thiết bị chuyển mạch, định tuyến được giám sát qua SNMP.',
    },
    variables: 'scope+devices',
  })
    .withRow(row(lang, { en: 'Agency uplinks', vi: 'Đường truyền lên của cơ quan' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'Uplink bandwidth per agency', vi: 'Băng thông đường truyền lên theo cơ quan' },
        description: {
          en: 'Bits per second in (up) and out (down) on every interface whose description contains "uplink", "WAN" or "internet".',
          vi: 'Số bit mỗi giây vào (phía trên) và ra (phía dưới) trên các cổng có mô tả chứa "uplink", "WAN" hoặc "internet".',
        },
        queries: [
          influx(
            `SELECT mean("in_bps") AS "in", mean("out_bps") AS "out" FROM "interface" WHERE ${UPLINK} AND $timeFilter GROUP BY time($__interval), "agency", "device", "ifName" fill(null)`,
          ).alias('$tag_agency $tag_device $tag_ifName $col'),
        ],
        unit: 'bps',
        negativeY: '.* out$',
        w: 16,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Uplink utilisation', vi: 'Mức sử dụng đường truyền lên' },
        description: {
          en: 'Peak utilisation of each uplink in the time range. Above 80 % users feel it.',
          vi: 'Mức sử dụng cao nhất của mỗi đường truyền lên trong khoảng thời gian. Trên 80 % người dùng sẽ thấy chậm.',
        },
        queries: [
          influx(
            `SELECT max("in_utilization") AS "in", max("out_utilization") AS "out" FROM "interface" WHERE ${UPLINK} AND $timeFilter GROUP BY "agency", "device", "ifName"`,
          ),
        ],
        columns: { agency: COMMON.agency, device: COMMON.device, ifName: COMMON.interface, in: COMMON.in, out: COMMON.out },
        hide: ['Time'],
        sortBy: { column: 'in', desc: true },
        columnOptions: Object.fromEntries(['in', 'out'].map((c) => [c, utilCell])),
        w: 8,
      }),
    )
    .withRow(row(lang, { en: 'Device $device', vi: 'Thiết bị $device' }).repeat('device'))
    .withPanel(
      stat(lang, {
        title: { en: 'SNMP status', vi: 'Trạng thái SNMP' },
        description: {
          en: 'Whether the device answered its last SNMP poll (snmp.up). Down: no answer, wrong credentials or an error; its interface figures below are then the last ones it gave.',
          vi: 'Thiết bị có trả lời lần hỏi SNMP gần nhất không (snmp.up). Ngừng: không trả lời, sai thông tin xác thực hoặc lỗi; số liệu cổng bên dưới khi đó là số liệu cuối cùng thiết bị đã gửi.',
        },
        queries: [influx(`SELECT last("up") FROM "snmp" WHERE ${ONE_DEVICE} AND ${STATE_WINDOW}`)],
        mappings: [valueMap({ '1': { text: tr(lang, COMMON.up), color: 'green' }, '0': { text: tr(lang, COMMON.down), color: 'red' } })],
        w: 6,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Last successful poll', vi: 'Lần hỏi thành công gần nhất' },
        description: { en: 'When the device last answered a whole SNMP poll.', vi: 'Thời điểm thiết bị trả lời đầy đủ lần hỏi SNMP gần nhất.' },
        queries: [influx(`SELECT last("last_success") FROM "snmp" WHERE ${ONE_DEVICE} AND ${STATE_WINDOW}`)],
        unit: 'dateTimeFromNow',
        thresholds: { base: 'text', steps: [] },
        w: 6,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'SNMP response time', vi: 'Thời gian phản hồi SNMP' },
        description: {
          en: 'How long each poll of the device took (all its requests); red bars are polls that failed.',
          vi: 'Thời gian mỗi lần hỏi thiết bị (mọi yêu cầu của lần hỏi); cột đỏ là các lần hỏi thất bại.',
        },
        queries: [
          influx(`SELECT mean("response_time_ms") AS "ms" FROM "snmp" WHERE ${ONE_DEVICE} AND $timeFilter GROUP BY time($__interval) fill(null)`).alias(
            tr(lang, { en: 'response time', vi: 'thời gian phản hồi' }),
          ),
          influx(`SELECT count("up") - sum("up") AS "failed" FROM "snmp" WHERE ${ONE_DEVICE} AND $timeFilter GROUP BY time($__interval) fill(null)`).alias(
            tr(lang, { en: 'failed polls', vi: 'lần hỏi thất bại' }),
          ),
        ],
        unit: 'ms',
        min: 0,
        w: 12,
        h: 4,
      }),
    )
    .withRow(row(lang, { en: 'Device interfaces', vi: 'Cổng của thiết bị mạng' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'Traffic', vi: 'Lưu lượng' },
        description: {
          en: 'Bits per second in (up) and out (down) per interface of the chosen devices.',
          vi: 'Số bit mỗi giây vào (phía trên) và ra (phía dưới) trên từng cổng của các thiết bị đã chọn.',
        },
        queries: [
          influx(`SELECT mean("in_bps") AS "in", mean("out_bps") AS "out" FROM "interface" WHERE ${DEV} AND $timeFilter ${BY_IF}`).alias(
            '$tag_device $tag_ifName $col',
          ),
        ],
        unit: 'bps',
        negativeY: '.* out$',
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Utilisation', vi: 'Mức sử dụng' },
        description: { en: 'Traffic as a share of the interface speed, in and out.', vi: 'Lưu lượng so với tốc độ của cổng, chiều vào và chiều ra.' },
        queries: [
          influx(`SELECT mean("in_utilization") AS "in", mean("out_utilization") AS "out" FROM "interface" WHERE ${DEV} AND $timeFilter ${BY_IF}`).alias(
            '$tag_device $tag_ifName $col',
          ),
        ],
        unit: 'percent',
        min: 0,
        max: 100,
        thresholds: {
          steps: [
            [70, 'orange'],
            [90, 'red'],
          ],
        },
        showThresholds: true,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Errors and discards', vi: 'Lỗi và gói tin bị loại' },
        description: {
          en: 'Packets per minute with errors (bad cable, duplex mismatch) or discarded (queues full), in and out.',
          vi: 'Số gói tin mỗi phút bị lỗi (cáp hỏng, lệch song công) hoặc bị loại (hàng đợi đầy), chiều vào và ra.',
        },
        queries: [
          influx(
            `SELECT non_negative_derivative(max("ifInErrors"), 1m) AS "in errors", non_negative_derivative(max("ifOutErrors"), 1m) AS "out errors", non_negative_derivative(max("ifInDiscards"), 1m) AS "in discards", non_negative_derivative(max("ifOutDiscards"), 1m) AS "out discards" FROM "interface" WHERE ${DEV} AND $timeFilter ${BY_IF}`,
          ).alias('$tag_device $tag_ifName $col'),
        ],
        unit: 'short',
        min: 0,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Interface status', vi: 'Trạng thái cổng' },
        description: {
          en: 'Last operational and administrative status of each interface. Down while admin up means a cable or the far end is gone.',
          vi: 'Trạng thái hoạt động và trạng thái quản trị gần nhất của từng cổng. Ngừng trong khi quản trị là bật nghĩa là mất cáp hoặc đầu bên kia.',
        },
        queries: [
          influx(
            `SELECT last("ifOperStatus") AS "oper", "ifAdminStatus" AS "admin", "ifHighSpeed" AS "speed", "ifAlias" FROM "interface" WHERE ${DEV} AND $timeFilter GROUP BY "device", "ifName"`,
          ),
        ],
        columns: {
          device: COMMON.device,
          ifName: COMMON.interface,
          ifAlias: { en: 'Description', vi: 'Mô tả' },
          oper: { en: 'Status', vi: 'Trạng thái' },
          admin: { en: 'Admin status', vi: 'Trạng thái quản trị' },
          speed: { en: 'Speed', vi: 'Tốc độ' },
        },
        hide: ['Time'],
        sortBy: { column: 'oper', desc: true },
        columnOptions: {
          oper: [COLOR_CELL, { id: 'mappings', value: [ifStatus(lang)] }],
          admin: [{ id: 'mappings', value: [ifStatus(lang)] }],
          speed: [{ id: 'unit', value: 'Mbits' }],
        },
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Busiest interfaces', vi: 'Các cổng bận nhất' },
        description: {
          en: 'The 10 interfaces with the highest peak utilisation in the time range.',
          vi: '10 cổng có mức sử dụng cao nhất trong khoảng thời gian.',
        },
        queries: [
          influx(
            `SELECT max("in_utilization") AS "in", max("out_utilization") AS "out", max("in_bps") AS "in_bps", max("out_bps") AS "out_bps" FROM "interface" WHERE ${POLLER} AND $timeFilter GROUP BY "agency", "device", "ifName"`,
          ),
        ],
        transformations: [
          { id: 'calculateField', options: { mode: 'reduceRow', reduce: { reducer: 'max', include: ['in', 'out'] }, alias: 'peak' } },
          { id: 'sortBy', options: { sort: [{ field: 'peak', desc: true }] } },
          { id: 'limit', options: { limitField: 10 } },
        ],
        columns: {
          agency: COMMON.agency,
          device: COMMON.device,
          ifName: COMMON.interface,
          peak: { en: 'Peak utilisation', vi: 'Mức sử dụng cao nhất' },
          in: COMMON.in,
          out: COMMON.out,
          in_bps: { en: 'Peak in', vi: 'Vào cao nhất' },
          out_bps: { en: 'Peak out', vi: 'Ra cao nhất' },
        },
        hide: ['Time'],
        sortBy: { column: 'peak', desc: true },
        columnOptions: {
          peak: utilCell,
          in: [{ id: 'unit', value: 'percent' }],
          out: [{ id: 'unit', value: 'percent' }],
          in_bps: [{ id: 'unit', value: 'bps' }],
          out_bps: [{ id: 'unit', value: 'bps' }],
        },
      }),
    );
}

const utilCell = [
  { id: 'unit', value: 'percent' },
  { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'gradient' } },
  { id: 'min', value: 0 },
  { id: 'max', value: 100 },
  cellThresholds('green', [
    [70, 'orange'],
    [90, 'red'],
  ]),
];

/** IF-MIB ifOperStatus / ifAdminStatus. */
function ifStatus(lang: Lang) {
  return valueMap({
    '1': { text: tr(lang, COMMON.up), color: 'green' },
    '2': { text: tr(lang, COMMON.down), color: 'red' },
    '3': { text: 'testing', color: 'blue' },
    '5': { text: 'dormant', color: 'yellow' },
    '7': { text: 'lowerLayerDown', color: 'red' },
  });
}
