// Network: agency uplinks and every interface of the switches and routers the agents poll
// by SNMP: bits per second, utilisation, errors, discards, up or down, and the busiest.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { influx } from '../influxql.ts';
import { COMMON, tr, type Lang } from '../i18n.ts';
import { COLOR_CELL, canhDashboard, row, table, timeseries, valueMap } from '../panels.ts';

/** SNMP points carry the polling agent's host, agency and site, and the device in agent_host. */
const POLLER = `"agency" =~ /^$agency$/ AND "site" =~ /^$site$/ AND "host" =~ /^$host$/`;
const DEV = `${POLLER} AND "agent_host" =~ /^$device$/ AND "ifName" =~ /^$ifname$/`;
/**
 * An agency's uplink is the device interface whose description (ifAlias) says so: name it
 * "uplink ..." or "WAN ..." on the switch or router, as most network teams already do.
 * (ifAlias is a field: the regexp condition works on fields and tags alike.)
 */
const UPLINK = `${POLLER} AND "ifAlias" =~ /(?i)uplink|wan|internet/`;
const BY_IF = `GROUP BY time($__interval), "agent_host", "ifName" fill(null)`;

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
            `SELECT mean("in_bps") AS "in", mean("out_bps") AS "out" FROM "interface" WHERE ${UPLINK} AND $timeFilter GROUP BY time($__interval), "agency", "agent_host", "ifName" fill(null)`,
          ).alias('$tag_agency $tag_agent_host $tag_ifName $col'),
        ],
        unit: 'bps',
        negativeY: '.* out$',
        w: 16,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Uplink utilisation', vi: 'Mức sử dụng đường truyền lên' },
        description: { en: 'Peak utilisation of each uplink in the time range. Above 80 % users feel it.', vi: 'Mức sử dụng cao nhất của mỗi đường truyền lên trong khoảng thời gian. Trên 80 % người dùng sẽ thấy chậm.' },
        queries: [influx(`SELECT max("in_utilization") AS "in", max("out_utilization") AS "out" FROM "interface" WHERE ${UPLINK} AND $timeFilter GROUP BY "agency", "agent_host", "ifName"`)],
        columns: { agency: COMMON.agency, agent_host: COMMON.device, ifName: COMMON.interface, in: COMMON.in, out: COMMON.out },
        hide: ['Time'],
        sortBy: { column: 'in', desc: true },
        columnOptions: Object.fromEntries(['in', 'out'].map((c) => [c, utilCell])),
        w: 8,
      }),
    )
    .withRow(row(lang, { en: 'Device interfaces', vi: 'Cổng của thiết bị mạng' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'Traffic', vi: 'Lưu lượng' },
        description: { en: 'Bits per second in (up) and out (down) per interface of the chosen devices.', vi: 'Số bit mỗi giây vào (phía trên) và ra (phía dưới) trên từng cổng của các thiết bị đã chọn.' },
        queries: [influx(`SELECT mean("in_bps") AS "in", mean("out_bps") AS "out" FROM "interface" WHERE ${DEV} AND $timeFilter ${BY_IF}`).alias('$tag_agent_host $tag_ifName $col')],
        unit: 'bps',
        negativeY: '.* out$',
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Utilisation', vi: 'Mức sử dụng' },
        description: { en: 'Traffic as a share of the interface speed, in and out.', vi: 'Lưu lượng so với tốc độ của cổng, chiều vào và chiều ra.' },
        queries: [
          influx(`SELECT mean("in_utilization") AS "in", mean("out_utilization") AS "out" FROM "interface" WHERE ${DEV} AND $timeFilter ${BY_IF}`).alias('$tag_agent_host $tag_ifName $col'),
        ],
        unit: 'percent',
        min: 0,
        max: 100,
        thresholds: { steps: [[70, 'orange'], [90, 'red']] },
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
          ).alias('$tag_agent_host $tag_ifName $col'),
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
            `SELECT last("ifOperStatus") AS "oper", "ifAdminStatus" AS "admin", "ifHighSpeed" AS "speed", "ifAlias" FROM "interface" WHERE ${DEV} AND $timeFilter GROUP BY "agent_host", "ifName"`,
          ),
        ],
        columns: {
          agent_host: COMMON.device,
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
        description: { en: 'The 10 interfaces with the highest peak utilisation in the time range.', vi: '10 cổng có mức sử dụng cao nhất trong khoảng thời gian.' },
        queries: [
          influx(
            `SELECT max("in_utilization") AS "in", max("out_utilization") AS "out", max("in_bps") AS "in_bps", max("out_bps") AS "out_bps" FROM "interface" WHERE ${POLLER} AND $timeFilter GROUP BY "agency", "agent_host", "ifName"`,
          ),
        ],
        transformations: [
          { id: 'calculateField', options: { mode: 'reduceRow', reduce: { reducer: 'max', include: ['in', 'out'] }, alias: 'peak' } },
          { id: 'sortBy', options: { sort: [{ field: 'peak', desc: true }] } },
          { id: 'limit', options: { limitField: 10 } },
        ],
        columns: {
          agency: COMMON.agency,
          agent_host: COMMON.device,
          ifName: COMMON.interface,
          peak: { en: 'Peak utilisation', vi: 'Mức sử dụng cao nhất' },
          in: COMMON.in,
          out: COMMON.out,
          in_bps: { en: 'Peak in', vi: 'Vào cao nhất' },
          out_bps: { en: 'Peak out', vi: 'Ra cao nhất' },
        },
        hide: ['Time'],
        sortBy: { column: 'peak', desc: true },
        columnOptions: { peak: utilCell, in: [{ id: 'unit', value: 'percent' }], out: [{ id: 'unit', value: 'percent' }], in_bps: [{ id: 'unit', value: 'bps' }], out_bps: [{ id: 'unit', value: 'bps' }] },
      }),
    );
}

const utilCell = [
  { id: 'unit', value: 'percent' },
  { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'gradient' } },
  { id: 'min', value: 0 },
  { id: 'max', value: 100 },
  { id: 'thresholds', value: { mode: 'absolute', steps: [{ value: null, color: 'green' }, { value: 70, color: 'orange' }, { value: 90, color: 'red' }] } },
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
