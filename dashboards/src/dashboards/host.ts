// Host: how one machine (or several, compared) is doing: CPU, memory, disks, load,
// uptime and reboots, network traffic and errors. Telegraf's names, so these panels
// read the same data Telegraf dashboards do.
import type { DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { influx } from '../influxql.ts';
import { COMMON, type Lang } from '../i18n.ts';
import { SCOPE, bargauge, canhDashboard, row, stat, table, timeseries } from '../panels.ts';

const BY_HOST = `GROUP BY time($__interval), "host" fill(null)`;
const PCT = { unit: 'percent', min: 0, max: 100 } as const;

export function host(lang: Lang): DashboardBuilder {
  return canhDashboard(lang, {
    key: 'host',
    title: { en: 'Canh — Host', vi: 'Canh — Máy chủ và máy trạm' },
    description: {
      en: 'Health of the chosen hosts: CPU, memory, disks, load, uptime and reboots, network traffic and errors. Pick one host to look into it, several to compare.',
      vi: 'Tình trạng các máy đã chọn: CPU, bộ nhớ, ổ đĩa, tải, thời gian chạy và khởi động lại, lưu lượng và lỗi mạng. Chọn một máy để xem kỹ, nhiều máy để so sánh.',
    },
  })
    .withRow(row(lang, { en: 'At a glance', vi: 'Tổng quan' }))
    .withPanel(
      stat(lang, {
        title: { en: 'Uptime', vi: 'Thời gian chạy liên tục' },
        description: { en: 'Time since each host last booted.', vi: 'Thời gian từ lần khởi động gần nhất của mỗi máy.' },
        queries: [influx(`SELECT last("uptime") FROM "system" WHERE ${SCOPE} AND $timeFilter GROUP BY "host"`).alias('$tag_host')],
        unit: 's',
        thresholds: { base: 'orange', steps: [[3600, 'green']] },
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'CPU now', vi: 'CPU hiện tại' },
        description: { en: 'Share of CPU time in use, all cores together.', vi: 'Tỷ lệ thời gian CPU đang dùng, tính chung mọi lõi.' },
        queries: [
          influx(`SELECT 100 - last("usage_idle") FROM "cpu" WHERE ${SCOPE} AND "cpu" = 'cpu-total' AND $timeFilter GROUP BY "host"`).alias('$tag_host'),
        ],
        ...PCT,
        thresholds: {
          steps: [
            [80, 'orange'],
            [95, 'red'],
          ],
        },
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Memory now', vi: 'Bộ nhớ hiện tại' },
        description: {
          en: 'Share of memory in use (what is not available to new programs).',
          vi: 'Tỷ lệ bộ nhớ đang dùng (phần chương trình mới không dùng được).',
        },
        queries: [influx(`SELECT last("used_percent") FROM "mem" WHERE ${SCOPE} AND $timeFilter GROUP BY "host"`).alias('$tag_host')],
        ...PCT,
        thresholds: {
          steps: [
            [85, 'orange'],
            [95, 'red'],
          ],
        },
      }),
    )
    .withPanel(
      stat(lang, {
        title: { en: 'Fullest disk', vi: 'Ổ đĩa đầy nhất' },
        description: { en: 'Use of the fullest filesystem of each host.', vi: 'Mức dùng của phân vùng đầy nhất trên mỗi máy.' },
        queries: [
          influx(
            `SELECT max("used") FROM (SELECT last("used_percent") AS "used" FROM "disk" WHERE ${SCOPE} AND $timeFilter GROUP BY "host", "path") GROUP BY "host"`,
          ).alias('$tag_host'),
        ],
        ...PCT,
        thresholds: {
          steps: [
            [80, 'orange'],
            [90, 'red'],
          ],
        },
      }),
    )
    .withRow(row(lang, { en: 'CPU, memory and load', vi: 'CPU, bộ nhớ và tải' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'CPU usage', vi: 'Mức dùng CPU' },
        description: {
          en: '100 % minus idle, all cores together. Sustained values above 80 % slow every service on the host.',
          vi: '100 % trừ phần nhàn rỗi, tính chung mọi lõi. Thường xuyên trên 80 % làm chậm mọi dịch vụ trên máy.',
        },
        queries: [influx(`SELECT 100 - mean("usage_idle") FROM "cpu" WHERE ${SCOPE} AND "cpu" = 'cpu-total' AND $timeFilter ${BY_HOST}`).alias('$tag_host')],
        ...PCT,
        thresholds: {
          steps: [
            [80, 'orange'],
            [95, 'red'],
          ],
        },
        showThresholds: true,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'CPU time by kind', vi: 'Thời gian CPU theo loại' },
        description: {
          en: 'user: programs; system: the kernel; iowait: waiting for disks (high means storage is the bottleneck); steal: taken by the hypervisor.',
          vi: 'user: chương trình; system: nhân hệ điều hành; iowait: chờ ổ đĩa (cao nghĩa là ổ đĩa bị nghẽn); steal: bị máy ảo hóa chiếm.',
        },
        queries: [
          influx(
            `SELECT mean("usage_user") AS "user", mean("usage_system") AS "system", mean("usage_iowait") AS "iowait", mean("usage_steal") AS "steal" FROM "cpu" WHERE ${SCOPE} AND "cpu" = 'cpu-total' AND $timeFilter ${BY_HOST}`,
          ).alias('$tag_host $col'),
        ],
        ...PCT,
        stack: true,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Memory and swap used', vi: 'Bộ nhớ và swap đã dùng' },
        description: {
          en: 'Memory in use, and swap in use. Swap that keeps growing means the host needs more memory.',
          vi: 'Bộ nhớ và swap đang dùng. Swap tăng liên tục nghĩa là máy cần thêm bộ nhớ.',
        },
        queries: [
          influx(`SELECT mean("used_percent") FROM "mem" WHERE ${SCOPE} AND $timeFilter ${BY_HOST}`).alias('$tag_host memory'),
          influx(`SELECT mean("used_percent") FROM "swap" WHERE ${SCOPE} AND $timeFilter ${BY_HOST}`).alias('$tag_host swap'),
        ],
        ...PCT,
        thresholds: {
          steps: [
            [85, 'orange'],
            [95, 'red'],
          ],
        },
        showThresholds: true,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Load average', vi: 'Tải trung bình' },
        description: {
          en: 'Processes running or waiting, averaged over 1, 5 and 15 minutes. Compare with the number of CPUs: load above it means work is queuing.',
          vi: 'Số tiến trình đang chạy hoặc chờ, trung bình 1, 5 và 15 phút. So với số CPU: tải cao hơn số CPU nghĩa là công việc đang phải xếp hàng.',
        },
        queries: [
          influx(
            `SELECT mean("load1") AS "load1", mean("load5") AS "load5", mean("load15") AS "load15", last("n_cpus") AS "cpus" FROM "system" WHERE ${SCOPE} AND $timeFilter ${BY_HOST}`,
          ).alias('$tag_host $col'),
        ],
        unit: 'short',
        min: 0,
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Uptime and reboots', vi: 'Thời gian chạy và khởi động lại' },
        description: {
          en: 'Time since boot. Each drop back to zero is a reboot.',
          vi: 'Thời gian từ lúc khởi động. Mỗi lần tụt về 0 là một lần khởi động lại.',
        },
        queries: [influx(`SELECT min("uptime") FROM "system" WHERE ${SCOPE} AND $timeFilter ${BY_HOST}`).alias('$tag_host')],
        unit: 's',
        min: 0,
        legendCalcs: ['min', 'lastNotNull'],
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Reboots', vi: 'Các lần khởi động lại' },
        description: {
          en: 'Reboots seen by the agents (the reboot input), newest first. Check that each one was planned.',
          vi: 'Các lần khởi động lại tác tử phát hiện (đầu vào reboot), mới nhất trước. Kiểm tra xem mỗi lần có theo kế hoạch không.',
        },
        queries: [
          influx(`SELECT "host", "message" FROM "security_event" WHERE ${SCOPE} AND "type" = 'host_reboot' AND $timeFilter ORDER BY time DESC LIMIT 100`),
        ],
        columns: { Time: { en: 'Booted at', vi: 'Khởi động lúc' }, host: COMMON.host, message: COMMON.message },
        sortBy: { column: 'Time', desc: true },
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Processes', vi: 'Tiến trình' },
        description: {
          en: 'Processes by state. Many blocked or zombie processes point at a stuck disk or a faulty program.',
          vi: 'Tiến trình theo trạng thái. Nhiều tiến trình blocked hoặc zombie là dấu hiệu ổ đĩa treo hoặc chương trình lỗi.',
        },
        queries: [
          influx(
            `SELECT mean("total") AS "total", mean("running") AS "running", mean("blocked") AS "blocked", mean("zombies") AS "zombies" FROM "processes" WHERE ${SCOPE} AND $timeFilter ${BY_HOST}`,
          ).alias('$tag_host $col'),
        ],
        unit: 'short',
        min: 0,
      }),
    )
    .withRow(row(lang, { en: 'Disks', vi: 'Ổ đĩa' }))
    .withPanel(
      bargauge(lang, {
        title: { en: 'Disk space used', vi: 'Dung lượng đĩa đã dùng' },
        description: {
          en: 'Each mounted filesystem, fullest first. Above 90 % services start failing to write.',
          vi: 'Từng phân vùng, đầy nhất trước. Trên 90 % các dịch vụ bắt đầu ghi lỗi.',
        },
        queries: [influx(`SELECT last("used_percent") FROM "disk" WHERE ${SCOPE} AND $timeFilter GROUP BY "host", "path"`).alias('$tag_host $tag_path')],
        ...PCT,
        thresholds: {
          steps: [
            [80, 'orange'],
            [90, 'red'],
          ],
        },
      }),
    )
    .withPanel(
      table(lang, {
        title: { en: 'Filesystems', vi: 'Phân vùng' },
        description: { en: 'Size and free space of each filesystem.', vi: 'Dung lượng và chỗ trống của từng phân vùng.' },
        queries: [
          influx(
            `SELECT last("used_percent") AS "used_percent", last("free") AS "free", last("total") AS "total" FROM "disk" WHERE ${SCOPE} AND $timeFilter GROUP BY "host", "path", "fstype"`,
          ),
        ],
        columns: {
          host: COMMON.host,
          path: COMMON.path,
          fstype: { en: 'Filesystem', vi: 'Hệ thống tệp' },
          used_percent: { en: 'Used', vi: 'Đã dùng' },
          free: { en: 'Free', vi: 'Còn trống' },
          total: { en: 'Size', vi: 'Dung lượng' },
        },
        hide: ['Time'],
        sortBy: { column: 'used_percent', desc: true },
        columnOptions: {
          used_percent: [
            { id: 'unit', value: 'percent' },
            { id: 'custom.cellOptions', value: { type: 'gauge', mode: 'gradient' } },
            { id: 'max', value: 100 },
            { id: 'min', value: 0 },
          ],
          free: [{ id: 'unit', value: 'bytes' }],
          total: [{ id: 'unit', value: 'bytes' }],
        },
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Disk throughput', vi: 'Tốc độ đọc ghi đĩa' },
        description: {
          en: 'Bytes read (up) and written (down) per second, per disk.',
          vi: 'Số byte đọc (phía trên) và ghi (phía dưới) mỗi giây, theo từng ổ.',
        },
        queries: [
          influx(
            `SELECT non_negative_derivative(max("read_bytes"), 1s) AS "read", non_negative_derivative(max("write_bytes"), 1s) AS "write" FROM "diskio" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "host", "name" fill(null)`,
          ).alias('$tag_host $tag_name $col'),
        ],
        unit: 'Bps',
        negativeY: '.* write$',
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Disk busy time', vi: 'Thời gian ổ đĩa bận' },
        description: {
          en: 'Share of time each disk was busy with I/O. Near 100 % the disk is saturated.',
          vi: 'Tỷ lệ thời gian ổ đĩa bận đọc ghi. Gần 100 % là ổ đĩa đã quá tải.',
        },
        queries: [
          influx(
            `SELECT non_negative_derivative(max("io_time"), 1s) / 10 FROM "diskio" WHERE ${SCOPE} AND $timeFilter GROUP BY time($__interval), "host", "name" fill(null)`,
          ).alias('$tag_host $tag_name'),
        ],
        ...PCT,
      }),
    )
    .withRow(row(lang, { en: 'Network', vi: 'Mạng' }))
    .withPanel(
      timeseries(lang, {
        title: { en: 'Interface traffic', vi: 'Lưu lượng cổng mạng' },
        description: {
          en: 'Bits per second received (up) and sent (down) on each interface.',
          vi: 'Số bit mỗi giây nhận (phía trên) và gửi (phía dưới) trên từng cổng mạng.',
        },
        queries: [
          influx(
            `SELECT mean("bytes_recv_rate") * 8 AS "in", mean("bytes_sent_rate") * 8 AS "out" FROM "net" WHERE ${SCOPE} AND "interface" != 'all' AND $timeFilter GROUP BY time($__interval), "host", "interface" fill(null)`,
          ).alias('$tag_host $tag_interface $col'),
        ],
        unit: 'bps',
        negativeY: '.* out$',
      }),
    )
    .withPanel(
      timeseries(lang, {
        title: { en: 'Interface errors and drops', vi: 'Lỗi và gói tin bị bỏ trên cổng mạng' },
        description: {
          en: 'Packets per second received or sent with errors, or dropped. Anything steady above 0 points at a bad cable, a duplex mismatch or an overloaded host.',
          vi: 'Số gói tin mỗi giây bị lỗi hoặc bị bỏ khi nhận, gửi. Thường xuyên lớn hơn 0 là dấu hiệu cáp hỏng, lệch chế độ song công hoặc máy quá tải.',
        },
        queries: [
          influx(
            `SELECT mean("err_in_rate") AS "err_in", mean("err_out_rate") AS "err_out", mean("drop_in_rate") AS "drop_in", mean("drop_out_rate") AS "drop_out" FROM "net" WHERE ${SCOPE} AND "interface" != 'all' AND $timeFilter GROUP BY time($__interval), "host", "interface" fill(null)`,
          ).alias('$tag_host $tag_interface $col'),
        ],
        unit: 'pps',
        min: 0,
      }),
    );
}
