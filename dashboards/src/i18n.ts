// The languages Canh's dashboards come in, and the words they share. Each dashboard
// writes its own titles as { en, vi } pairs next to the panel they belong to (easier to
// keep in step than a far-away key table); the words used on every dashboard live here.
export const LANGS = ['en', 'vi'] as const;
export type Lang = (typeof LANGS)[number];

/** One piece of text in every language. */
export type Text = Record<Lang, string>;

export function tr(lang: Lang, text: Text): string {
  return text[lang];
}

/** Words shared by several dashboards. */
export const COMMON = {
  agency: { en: 'Agency', vi: 'Cơ quan' },
  site: { en: 'Site', vi: 'Địa điểm' },
  host: { en: 'Host', vi: 'Máy' },
  device: { en: 'Network device', vi: 'Thiết bị mạng' },
  interface: { en: 'Interface', vi: 'Cổng mạng' },
  alerts: { en: 'Alerts', vi: 'Cảnh báo' },
  dashboards: { en: 'Canh dashboards', vi: 'Bảng điều khiển Canh' },
  time: { en: 'Time', vi: 'Thời điểm' },
  since: { en: 'Since', vi: 'Từ lúc' },
  state: { en: 'State', vi: 'Trạng thái' },
  online: { en: 'Online', vi: 'Trực tuyến' },
  offline: { en: 'Offline', vi: 'Mất kết nối' },
  version: { en: 'Version', vi: 'Phiên bản' },
  message: { en: 'Message', vi: 'Nội dung' },
  severity: { en: 'Severity', vi: 'Mức độ' },
  type: { en: 'Type', vi: 'Loại' },
  count: { en: 'Count', vi: 'Số lần' },
  rule: { en: 'Rule', vi: 'Quy tắc' },
  value: { en: 'Value', vi: 'Giá trị' },
  summary: { en: 'Summary', vi: 'Tóm tắt' },
  user: { en: 'User', vi: 'Tài khoản' },
  source: { en: 'Source address', vi: 'Địa chỉ nguồn' },
  path: { en: 'Path', vi: 'Đường dẫn' },
  port: { en: 'Port', vi: 'Cổng' },
  in: { en: 'in', vi: 'vào' },
  out: { en: 'out', vi: 'ra' },
  up: { en: 'Up', vi: 'Hoạt động' },
  down: { en: 'Down', vi: 'Ngừng' },
  firing: { en: 'Firing', vi: 'Đang cảnh báo' },
  resolved: { en: 'Resolved', vi: 'Đã hết' },
} satisfies Record<string, Text>;
