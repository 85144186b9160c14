// Fleet overview: is every agent reporting, which versions run where, is anything being
// lost on the way, what is alarming and what the detectors saw last.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { influx } from '../influxql.ts';
import { COMMON, type Lang } from '../i18n.ts';
import {
  COLOR_CELL,
  SCOPE,
  STATE_WINDOW,
  bargauge,
  canhDashboard,
  onlineMapping,
  row,
  severityMapping,
  stat,
  table,
  timeseries,
  cellThresholds,
} from '../panels.ts';

// The collector writes agent.online = 1 on connect and 0 on disconnect; the last one in the
// state window is the agent's state, and its time is "since when".
const LAST_ONLINE = `SELECT last("online") AS "online" FROM "agent" WHERE ${SCOPE} AND ${STATE_WINDOW} GROUP BY "agency", "site", "host"`;
const ALERT_SCOPE = `"agency" =~ /^$agency$/ AND "host" =~ /^$host$/`;

export function fleet(lang: Lang): DashboardBuilder {
  return canhDashboard(lang, {
    key: 'fleet',
    title: { en: 'Canh — Fleet overview', vi: 'Canh — Tổng quan hệ thống' },
    description: {
      en: 'Which agents report, since when, which version they run, whether data is being lost, firing alerts and the latest security events.',
      vi: 'Các tác tử nào đang gửi dữ liệu và từ khi nào, phiên bản đang chạy, dữ liệu có bị mất không, cảnh báo đang kích hoạt và sự kiện an ninh mới nhất.',
    },
  })
    .withRow(row(lang, { en: 'Agents', vi: 'Tác tử' }))
    .withPanel(
      stat(lang, {
        title: { en: 'Agents online', vi: 'Tác tử trực tuyến' },
        description: { en: 'Agents whose last state is connected to the collector.', vi: 'Số tác tử đang kết nối tới máy thu thập.' },
        queries: [influx(`SELECT sum("online") FROM (${LAST_ONLINE})`)],
        thresholds: { base: 'green', steps: [] },
        decimals: 0,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Agents offline', vi: 'Tác tử mất kết nối' },
        description: {
          en: 'Agents whose last state is disconnected (seen in the last 30 days). Anything above 0 needs a look: host down, network cut or agent stopped.',
          vi: 'Số tác tử đã ngắt kết nối (có gửi dữ liệu trong 30 ngày qua). Lớn hơn 0 là cần kiểm tra: máy tắt, mất mạng hoặc tác tử bị dừng.',
        },
        queries: [influx(`SELECT count("online") - sum("online") FROM (${LAST_ONLINE})`)],
        thresholds: { base: 'green', steps: [[1, 'red']] },
        decimals: 0,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Alerts firing', vi: 'Cảnh báo đang kích hoạt' },
        description: {
          en: 'Alerts currently firing for the chosen agencies and hosts, counted per instance: one rule firing for two ports or two URLs counts 2.',
          vi: 'Số cảnh báo đang kích hoạt cho các cơ quan và máy đã chọn, đếm theo từng đối tượng: một quy tắc kích hoạt cho hai cổng hoặc hai URL tính là 2.',
        },
        queries: [
          influx(
            `SELECT count("state") FROM (SELECT last("state") AS "state" FROM "alert" WHERE ${ALERT_SCOPE} AND ${STATE_WINDOW} GROUP BY *) WHERE "state" = 'firing'`,
          ),
        ],
        thresholds: { base: 'green', steps: [[1, 'red']] },
        decimals: 0,
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Security events', vi: 'Sự kiện an ninh' },
        description: {
          en: 'Security events reported by the detectors in the chosen time range.',
          vi: 'Số sự kiện an ninh do các bộ phát hiện báo trong khoảng thời gian đã chọn.',
        },
        queries: [influx(`SELECT sum("count") FROM "security_event" WHERE ${SCOPE} AND $timeFilter`)],
        thresholds: { base: 'blue', steps: [] },
        decimals: 0,
      }),
    )
    .withPanel(
      bargauge(lang, {
        title: { en: 'Agents online per agency', vi: 'Tác tử trực tuyến theo cơ quan' },
        description: { en: 'How many of each agency’s agents are connected now.', vi: 'Số tác tử đang kết nối của từng cơ quan.' },
        queries: [influx(`SELECT sum("online") AS "online" FROM (${LAST_ONLINE}) GROUP BY "agency"`).alias('$tag_agency')],
        thresholds: { base: 'red', steps: [[1, 'green']] },
        decimals: 0,
        w: 8,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Agent state and since when', vi: 'Trạng thái tác tử và thời điểm bắt đầu' },
        description: {
          en: 'Every agent seen in the last 30 days: online or offline, and since when (the time of its last connect or disconnect).',
          vi: 'Mọi tác tử có dữ liệu trong 30 ngày qua: trực tuyến hay mất kết nối, và từ lúc nào (lần kết nối hoặc ngắt kết nối gần nhất).',
        },
        queries: [influx(LAST_ONLINE)],
        columns: { Time: COMMON.since, agency: COMMON.agency, site: COMMON.site, host: COMMON.host, online: COMMON.state },
        sortBy: { column: 'online', desc: false },
        mappings: [onlineMapping(lang)],
        columnOptions: {
          online: [COLOR_CELL, cellThresholds('red', [[1, 'green']])],
        },
        w: 16,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Agents by version', vi: 'Tác tử theo phiên bản' },
        description: {
          en: 'How many agents run each version (from their last report in the time range).',
          vi: 'Số tác tử chạy mỗi phiên bản (theo báo cáo gần nhất trong khoảng thời gian).',
        },
        queries: [influx(`SELECT last("version") AS "version" FROM "agent" WHERE ${SCOPE} AND $timeFilter GROUP BY "host"`)],
        transformations: [
          {
            id: 'groupBy',
            options: { fields: { version: { operation: 'groupby', aggregations: [] }, host: { operation: 'aggregate', aggregations: ['count'] } } },
          },
        ],
        columns: { version: COMMON.version, 'host (count)': { en: 'Agents', vi: 'Số tác tử' } },
        sortBy: { column: 'version', desc: true },
        w: 8,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Agent versions by host', vi: 'Phiên bản tác tử trên từng máy' },
        description: {
          en: 'The version each agent reported last, to find the ones left behind after an upgrade.',
          vi: 'Phiên bản mỗi tác tử báo gần nhất, để tìm các máy chưa được nâng cấp.',
        },
        queries: [influx(`SELECT last("version") AS "version" FROM "agent" WHERE ${SCOPE} AND $timeFilter GROUP BY "agency", "site", "host"`)],
        columns: { Time: COMMON.time, agency: COMMON.agency, site: COMMON.site, host: COMMON.host, version: COMMON.version },
        sortBy: { column: 'version', desc: false },
        w: 16,
      }),
    )
    .withRow(row(lang, { en: 'Delivery', vi: 'Truyền dữ liệu' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'Spool backlog per agent', vi: 'Dữ liệu chờ gửi trên mỗi tác tử' },
        description: {
          en: 'Batches waiting in each agent’s disk spool. It grows while the collector is unreachable and drains when it returns; a backlog that never drains means the link is too slow.',
          vi: 'Số lô dữ liệu đang chờ trong bộ đệm đĩa của tác tử. Tăng khi không kết nối được máy thu thập và giảm khi kết nối lại; nếu không bao giờ giảm thì đường truyền quá chậm.',
        },
        queries: [
          influx(`SELECT max("spool_batches") FROM "agent" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "host" fill(none)`).alias('$tag_host'),
        ],
        unit: 'short',
        min: 0,
        decimals: 0,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Data dropped by agents', vi: 'Dữ liệu bị tác tử loại bỏ' },
        description: {
          en: 'Points and events each agent has had to drop since it started because its spool was full. Any value above 0 is data lost for good.',
          vi: 'Số điểm dữ liệu và sự kiện tác tử phải bỏ từ khi khởi động vì bộ đệm đầy. Lớn hơn 0 là dữ liệu đã mất hẳn.',
        },
        queries: [
          influx(`SELECT max("dropped_points") AS "points" FROM "agent" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "host" fill(none)`).alias(
            '$tag_host points',
          ),
          influx(`SELECT max("dropped_events") AS "events" FROM "agent" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "host" fill(none)`).alias(
            '$tag_host events',
          ),
        ],
        unit: 'short',
        min: 0,
        thresholds: { base: 'green', steps: [[1, 'red']] },
        showThresholds: true,
      }),
    )
    .withRow(row(lang, { en: 'Alerts and security', vi: 'Cảnh báo và an ninh' }))
    .withPanel(
      table(lang, {
        title: { en: 'Firing alerts', vi: 'Cảnh báo đang kích hoạt' },
        description: {
          en: 'Alert instances (a rule and its labels: URL, port, interface...) whose last state change is "firing", with when it started.',
          vi: 'Các cảnh báo (quy tắc cùng nhãn: URL, cổng, giao diện...) có trạng thái cuối là "đang kích hoạt", kèm thời điểm bắt đầu.',
        },
        queries: [influx(`SELECT last("state") AS "state", "summary", "value" FROM "alert" WHERE ${ALERT_SCOPE} AND ${STATE_WINDOW} GROUP BY *`)],
        transformations: [
          {
            id: 'filterByValue',
            options: { type: 'include', match: 'any', filters: [{ fieldName: 'state', config: { id: 'equal', options: { value: 'firing' } } }] },
          },
        ],
        columns: {
          Time: COMMON.since,
          rule: COMMON.rule,
          severity: COMMON.severity,
          agency: COMMON.agency,
          host: COMMON.host,
          summary: COMMON.summary,
          value: COMMON.value,
        },
        hide: ['state'],
        sortBy: { column: 'Time', desc: true },
        columnOptions: { severity: [COLOR_CELL, { id: 'mappings', value: [severityMapping(lang)] }] },
        w: 24,
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Latest security events', vi: 'Sự kiện an ninh mới nhất' },
        description: {
          en: 'The 50 most recent security events. The Security dashboard has the details.',
          vi: '50 sự kiện an ninh gần nhất. Xem chi tiết ở bảng An ninh.',
        },
        queries: [
          influx(
            `SELECT "severity", "type", "agency", "host", "message", "count" FROM "security_event" WHERE ${SCOPE} AND $timeFilter ORDER BY time DESC LIMIT 50`,
          ),
        ],
        columns: {
          Time: COMMON.time,
          severity: COMMON.severity,
          type: COMMON.type,
          agency: COMMON.agency,
          host: COMMON.host,
          message: COMMON.message,
          count: COMMON.count,
        },
        sortBy: { column: 'Time', desc: true },
        columnOptions: { severity: [COLOR_CELL, { id: 'mappings', value: [severityMapping(lang)] }] },
        w: 24,
        h: 10,
      }),
    );
}
