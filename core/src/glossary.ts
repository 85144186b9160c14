// One glossary, Vietnamese and English, for every surface a person reads: the status
// page, alert mails, event messages and evidence labels, severities, dashboards, the
// report and the CLI. One domain word is one translation everywhere ("agent" is always
// "tác tử", "collector" always "máy thu thập"), and a field the agents send is shown by
// its name here, never as the raw key (`user_count`, `window_s`). test/glossary.test.ts
// renders every surface in Vietnamese and fails on an untranslated key or an English
// sentence.
export type GlossaryLang = 'vi' | 'en';
export type Term = Readonly<Record<GlossaryLang, string>>;

/** The domain words. Lower case; a surface capitalises where its layout wants. */
export const TERMS = {
  agent: { vi: 'tác tử', en: 'agent' },
  agents: { vi: 'tác tử', en: 'agents' },
  collector: { vi: 'máy thu thập', en: 'collector' },
  agency: { vi: 'cơ quan', en: 'agency' },
  site: { vi: 'địa điểm', en: 'site' },
  host: { vi: 'máy chủ', en: 'host' },
  device: { vi: 'thiết bị mạng', en: 'network device' },
  interface: { vi: 'cổng mạng', en: 'interface' },
  rule: { vi: 'quy tắc', en: 'rule' },
  alert: { vi: 'cảnh báo', en: 'alert' },
  silence: { vi: 'tạm tắt cảnh báo', en: 'silence' },
  maintenance: { vi: 'bảo trì', en: 'maintenance' },
  event: { vi: 'sự kiện an ninh', en: 'security event' },
  detector: { vi: 'bộ phát hiện', en: 'detector' },
  spool: { vi: 'bộ đệm trên đĩa', en: 'spool' },
  online: { vi: 'trực tuyến', en: 'online' },
  offline: { vi: 'mất kết nối', en: 'offline' },
  revoked: { vi: 'đã thu hồi', en: 'revoked' },
  up: { vi: 'hoạt động', en: 'up' },
  down: { vi: 'ngừng', en: 'down' },
  portal: { vi: 'cổng thông tin', en: 'portal' },
  service: { vi: 'dịch vụ', en: 'service' },
  certificate: { vi: 'chứng chỉ số', en: 'certificate' },
} as const satisfies Record<string, Term>;

export const SEVERITY_NAMES = {
  critical: { vi: 'nghiêm trọng', en: 'critical' },
  high: { vi: 'cao', en: 'high' },
  medium: { vi: 'trung bình', en: 'medium' },
  low: { vi: 'thấp', en: 'low' },
  info: { vi: 'thông tin', en: 'info' },
} as const satisfies Record<string, Term>;

export function term(key: keyof typeof TERMS, lang: GlossaryLang): string {
  return TERMS[key][lang];
}

export function severityName(sev: string, lang: GlossaryLang): string {
  return (SEVERITY_NAMES as Record<string, Term>)[sev]?.[lang] ?? sev;
}

/**
 * Names of the labels, tags, fields and evidence keys that reach a person. A key not
 * here is shown as it is, which the glossary test reports for the shipped surfaces.
 */
export const FIELD_NAMES: Record<string, Term> = {
  // labels and tags
  agency: { vi: 'Cơ quan', en: 'Agency' },
  site: { vi: 'Địa điểm', en: 'Site' },
  host: { vi: 'Máy chủ', en: 'Host' },
  hosts: { vi: 'Các máy', en: 'Hosts' },
  agencies: { vi: 'Các cơ quan', en: 'Agencies' },
  path: { vi: 'Đường dẫn', en: 'Path' },
  url: { vi: 'Địa chỉ', en: 'Address' },
  server: { vi: 'Dịch vụ', en: 'Service' },
  port: { vi: 'Cổng', en: 'Port' },
  source: { vi: 'Nguồn', en: 'Source' },
  src_ip: { vi: 'IP nguồn', en: 'Source IP' },
  ifName: { vi: 'Cổng mạng', en: 'Interface' },
  agent_host: { vi: 'Địa chỉ thiết bị', en: 'Device address' },
  device: { vi: 'Thiết bị', en: 'Device' },
  reporter: { vi: 'Đo từ', en: 'Measured from' },
  mitre: { vi: 'MITRE ATT&CK', en: 'MITRE ATT&CK' },
  type: { vi: 'Loại', en: 'Type' },
  rule: { vi: 'Quy tắc', en: 'Rule' },
  // evidence of security events
  user: { vi: 'Tài khoản', en: 'User' },
  users: { vi: 'Các tài khoản', en: 'Users' },
  user_count: { vi: 'Số tài khoản', en: 'Number of users' },
  total_failures: { vi: 'Tổng số lần sai', en: 'Failures in total' },
  failures: { vi: 'Số lần sai', en: 'Failures' },
  window_s: { vi: 'Trong khoảng', en: 'Within' },
  update: { vi: 'Đang tiếp diễn', en: 'Still going on' },
  service: { vi: 'Dịch vụ', en: 'Service' },
  method: { vi: 'Cách đăng nhập', en: 'Login method' },
  local_time: { vi: 'Giờ địa phương', en: 'Local time' },
  program: { vi: 'Chương trình', en: 'Program' },
  detail: { vi: 'Chi tiết', en: 'Detail' },
  group: { vi: 'Nhóm', en: 'Group' },
  run_as: { vi: 'Chạy với quyền', en: 'Run as' },
  by: { vi: 'Do', en: 'By' },
  change: { vi: 'Thay đổi', en: 'Change' },
  web_root: { vi: 'Thư mục web', en: 'Web root' },
  size: { vi: 'Kích thước (byte)', en: 'Size (bytes)' },
  files: { vi: 'Số tệp', en: 'Files' },
  paths_sample: { vi: 'Một số đường dẫn', en: 'Sample paths' },
  ip: { vi: 'Địa chỉ IP', en: 'IP address' },
  mac: { vi: 'Địa chỉ MAC', en: 'MAC address' },
  expected_mac: { vi: 'MAC đã biết', en: 'Known MAC' },
  interface: { vi: 'Cổng mạng', en: 'Network interface' },
  gateway: { vi: 'Là cổng mặc định', en: 'Default gateway' },
  devices: { vi: 'Các thiết bị', en: 'Devices' },
  proto: { vi: 'Giao thức', en: 'Protocol' },
  address: { vi: 'Địa chỉ lắng nghe', en: 'Listening address' },
  process: { vi: 'Tiến trình', en: 'Process' },
  exe: { vi: 'Tệp chạy', en: 'Executable' },
  old_exe: { vi: 'Tệp chạy trước đây', en: 'Previous executable' },
  old_exe_inode: { vi: 'Inode trước đây', en: 'Previous inode' },
  exposed: { vi: 'Mở ra ngoài', en: 'Reachable from outside' },
  listeners: { vi: 'Các cổng lắng nghe', en: 'Listeners' },
  pid: { vi: 'Mã tiến trình', en: 'Process id' },
  ppid: { vi: 'Tiến trình cha', en: 'Parent process id' },
  cmdline: { vi: 'Dòng lệnh', en: 'Command line' },
  reason: { vi: 'Lý do', en: 'Reason' },
  via: { vi: 'Phát hiện qua', en: 'Found through' },
  interpreter: { vi: 'Trình thông dịch', en: 'Interpreter' },
  module: { vi: 'Mô-đun', en: 'Module' },
  category: { vi: 'Nhóm cấu hình', en: 'Category' },
  content: { vi: 'Nội dung', en: 'Content' },
  old_mode: { vi: 'Quyền cũ', en: 'Old mode' },
  new_mode: { vi: 'Quyền mới', en: 'New mode' },
  old_owner: { vi: 'Chủ sở hữu cũ', en: 'Old owner' },
  new_owner: { vi: 'Chủ sở hữu mới', en: 'New owner' },
  distinct_paths: { vi: 'Số đường dẫn khác nhau', en: 'Distinct paths' },
  samples: { vi: 'Một số yêu cầu', en: 'Sample requests' },
  statuses: { vi: 'Mã trả lời', en: 'Response codes' },
  uid: { vi: 'UID', en: 'UID' },
  new_uid: { vi: 'UID mới', en: 'New UID' },
  gid: { vi: 'GID', en: 'GID' },
  old_gid: { vi: 'GID cũ', en: 'Old GID' },
  new_gid: { vi: 'GID mới', en: 'New GID' },
  mode: { vi: 'Quyền', en: 'Mode' },
  ino: { vi: 'Inode', en: 'Inode' },
  setuid: { vi: 'Có bit SUID', en: 'SUID bit' },
  setgid: { vi: 'Có bit SGID', en: 'SGID bit' },
  old_size: { vi: 'Kích thước cũ (byte)', en: 'Old size (bytes)' },
  old_sha256: { vi: 'Mã băm SHA-256 cũ', en: 'Old SHA-256' },
  new_sha256: { vi: 'Mã băm SHA-256 mới', en: 'New SHA-256' },
  target: { vi: 'Liên kết tới', en: 'Link target' },
  exe_inode: { vi: 'Inode của tệp chạy', en: 'Executable inode' },
  pids: { vi: 'Các mã tiến trình', en: 'Process ids' },
  login_url: { vi: 'Trang đăng nhập', en: 'Login page' },
  exploit: { vi: 'Mẫu khai thác', en: 'Exploit' },
  title: { vi: 'Mô tả', en: 'Title' },
  file: { vi: 'Tệp', en: 'File' },
  file_age_s: { vi: 'Tệp xuất hiện trước đó', en: 'File age' },
  old_uid: { vi: 'UID cũ', en: 'Old UID' },
  shell: { vi: 'Shell', en: 'Shell' },
  old_shell: { vi: 'Shell cũ', en: 'Old shell' },
  home: { vi: 'Thư mục nhà', en: 'Home folder' },
  event_id: { vi: 'Mã sự kiện Windows', en: 'Windows event id' },
  record_id: { vi: 'Số bản ghi', en: 'Record number' },
  computer: { vi: 'Tên máy Windows', en: 'Windows computer' },
  changed_by: { vi: 'Người thay đổi', en: 'Changed by' },
  cve: { vi: 'Mã CVE', en: 'CVE' },
  user_agent: { vi: 'Trình duyệt (User-Agent)', en: 'User agent' },
  status: { vi: 'Mã trả lời', en: 'Response code' },
  count: { vi: 'Số lần', en: 'Count' },
  // measurement fields a threshold rule may watch
  percent_packet_loss: { vi: 'Tỷ lệ mất gói', en: 'Packet loss' },
  result_code: { vi: 'Mã kết quả', en: 'Result code' },
  http_response_code: { vi: 'Mã trả lời HTTP', en: 'HTTP response code' },
  response_time: { vi: 'Thời gian phản hồi', en: 'Response time' },
  expiry: { vi: 'Thời gian còn hiệu lực', en: 'Time to expiry' },
  used_percent: { vi: 'Tỷ lệ đã dùng', en: 'Used' },
  usage_idle: { vi: 'CPU rảnh', en: 'CPU idle' },
  usage_user: { vi: 'CPU người dùng', en: 'CPU user' },
  usage_system: { vi: 'CPU hệ thống', en: 'CPU system' },
  load1: { vi: 'Tải 1 phút', en: 'Load (1 min)' },
  in_utilization: { vi: 'Mức dùng chiều vào', en: 'Inbound utilisation' },
  out_utilization: { vi: 'Mức dùng chiều ra', en: 'Outbound utilisation' },
  ifOperStatus: { vi: 'Trạng thái hoạt động', en: 'Operational status' },
  ifAdminStatus: { vi: 'Trạng thái quản trị', en: 'Administrative status' },
  bytes_recv_rate: { vi: 'Tốc độ nhận', en: 'Receive rate' },
  bytes_sent_rate: { vi: 'Tốc độ gửi', en: 'Send rate' },
  spool_batches: { vi: 'Số lô chờ gửi', en: 'Batches waiting' },
  dropped_points: { vi: 'Số điểm bị bỏ', en: 'Dropped points' },
  dropped_events: { vi: 'Số sự kiện bị bỏ', en: 'Dropped events' },
};

/** The name of a label, field or evidence key; the key itself when the glossary has none. */
export function fieldName(key: string, lang: GlossaryLang): string {
  return FIELD_NAMES[key]?.[lang] ?? key;
}

/** Values of some evidence keys are words themselves. */
const VALUE_WORDS: Record<string, Record<string, Term>> = {
  change: {
    added: { vi: 'thêm mới', en: 'added' },
    modified: { vi: 'bị sửa', en: 'modified' },
    changed: { vi: 'bị sửa', en: 'changed' },
    deleted: { vi: 'bị xoá', en: 'deleted' },
    removed: { vi: 'bị xoá', en: 'removed' },
    permissions: { vi: 'đổi quyền', en: 'permissions changed' },
  },
  reason: {
    temp_dir: { vi: 'chạy từ thư mục tạm', en: 'runs from a temporary folder' },
    memfd: { vi: 'chạy từ bộ nhớ (memfd)', en: 'runs from memory (memfd)' },
    deleted: { vi: 'tệp chạy đã bị xoá', en: 'executable deleted' },
  },
  // The `result` tag of http_response and net_response checks.
  result: {
    success: { vi: 'thành công', en: 'success' },
    connection_failed: { vi: 'không kết nối được', en: 'connection failed' },
    timeout: { vi: 'quá thời gian chờ', en: 'timed out' },
    dns_error: { vi: 'lỗi phân giải tên miền (DNS)', en: 'DNS error' },
    body_read_error: { vi: 'lỗi đọc nội dung trả về', en: 'could not read the body' },
    response_string_mismatch: { vi: 'nội dung trả về không như mong đợi', en: 'unexpected content' },
    response_status_code_mismatch: { vi: 'mã trả lời không như mong đợi', en: 'unexpected status code' },
    read_failed: { vi: 'lỗi đọc trả lời', en: 'read failed' },
    string_mismatch: { vi: 'trả lời không như mong đợi', en: 'unexpected answer' },
  },
  via: {
    exe: { vi: 'tệp chạy', en: 'executable' },
    loader: { vi: 'trình nạp', en: 'loader' },
    interpreter: { vi: 'trình thông dịch', en: 'interpreter' },
    stdin: { vi: 'đầu vào chuẩn', en: 'standard input' },
  },
};

/** An evidence value as a person reads it: yes/no for booleans, durations for *_s keys. */
export function fieldValue(key: string, value: unknown, lang: GlossaryLang): string {
  const text = String(value);
  if (text === 'true' || text === 'false') return text === 'true' ? (lang === 'vi' ? 'có' : 'yes') : lang === 'vi' ? 'không' : 'no';
  if (key.endsWith('_s') && /^\d+$/.test(text)) return durationText(Number(text), lang);
  return VALUE_WORDS[key]?.[text]?.[lang] ?? text;
}

/** Whole seconds as "10 phút" / "10 min", at most two units. */
export function durationText(seconds: number, lang: GlossaryLang): string {
  const u = lang === 'vi' ? { d: 'ngày', h: 'giờ', m: 'phút', s: 'giây' } : { d: 'd', h: 'h', m: 'min', s: 's' };
  let s = Math.round(Math.abs(seconds));
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(s / size);
    s -= n * size;
    if (n > 0 && parts.length < 2) parts.push(`${n} ${u[unit]}`);
  }
  const text = parts.length ? parts.join(' ') : `0 ${u.s}`;
  return seconds < 0 ? `-${text}` : text;
}

/** What each security event type is called. */
export const EVENT_TYPE_NAMES: Record<string, Term> = {
  brute_force: { vi: 'Tấn công dò mật khẩu', en: 'Brute-force attack' },
  brute_force_success: { vi: 'Đăng nhập thành công sau khi dò mật khẩu', en: 'Login after brute force' },
  off_hours_privileged_login: { vi: 'Đăng nhập quản trị ngoài giờ', en: 'Privileged login out of hours' },
  account_created: { vi: 'Tài khoản mới được tạo', en: 'Account created' },
  account_deleted: { vi: 'Tài khoản bị xoá', en: 'Account deleted' },
  account_changed: { vi: 'Tài khoản bị sửa', en: 'Account changed' },
  account_locked: { vi: 'Tài khoản bị khoá', en: 'Account locked' },
  account_enabled: { vi: 'Tài khoản được bật lại', en: 'Account enabled' },
  account_disabled: { vi: 'Tài khoản bị vô hiệu hoá', en: 'Account disabled' },
  password_changed: { vi: 'Mật khẩu được đổi', en: 'Password changed' },
  group_changed: { vi: 'Nhóm tài khoản bị thay đổi', en: 'Group changed' },
  group_created: { vi: 'Nhóm tài khoản mới được tạo', en: 'Group created' },
  group_deleted: { vi: 'Nhóm tài khoản bị xoá', en: 'Group deleted' },
  uid0_account: { vi: 'Tài khoản có quyền root (uid 0)', en: 'Account with uid 0' },
  privileged_group_member_added: { vi: 'Thêm thành viên vào nhóm đặc quyền', en: 'Member added to a privileged group' },
  privileged_group_member_removed: { vi: 'Bớt thành viên khỏi nhóm đặc quyền', en: 'Member removed from a privileged group' },
  system_account_login_shell: { vi: 'Tài khoản hệ thống được cấp shell đăng nhập', en: 'System account given a login shell' },
  sudo_not_allowed: { vi: 'Dùng sudo khi không được phép', en: 'sudo not allowed' },
  sudo_failure: { vi: 'Nhập sai mật khẩu sudo', en: 'sudo password failure' },
  su_failure: { vi: 'Chuyển tài khoản (su) thất bại', en: 'su failure' },
  file_modified: { vi: 'Tệp hệ thống bị sửa', en: 'System file modified' },
  file_added: { vi: 'Tệp hệ thống mới', en: 'System file added' },
  file_deleted: { vi: 'Tệp hệ thống bị xoá', en: 'System file deleted' },
  file_permissions_changed: { vi: 'Quyền của tệp hệ thống bị đổi', en: 'System file permissions changed' },
  possible_defacement: { vi: 'Nghi ngờ thay đổi giao diện website', en: 'Possible defacement' },
  new_lan_device: { vi: 'Thiết bị lạ trong mạng LAN', en: 'New LAN device' },
  arp_spoofing: { vi: 'Nghi ngờ giả mạo ARP', en: 'Possible ARP spoofing' },
  lan_device_mac_changed: { vi: 'Địa chỉ MAC của thiết bị thay đổi', en: 'LAN device MAC changed' },
  new_listening_port: { vi: 'Cổng dịch vụ mới được mở', en: 'New listening port' },
  listening_port_closed: { vi: 'Cổng dịch vụ đã đóng', en: 'Listening port closed' },
  listening_port_program_changed: { vi: 'Chương trình khác chiếm cổng dịch vụ', en: 'Another program behind a port' },
  suspicious_process: { vi: 'Tiến trình đáng ngờ', en: 'Suspicious process' },
  cron_job_added: { vi: 'Tác vụ cron mới', en: 'Cron job added' },
  cron_job_changed: { vi: 'Tác vụ cron bị sửa', en: 'Cron job changed' },
  cron_job_removed: { vi: 'Tác vụ cron bị xoá', en: 'Cron job removed' },
  systemd_unit_added: { vi: 'Dịch vụ systemd mới', en: 'Systemd unit added' },
  systemd_unit_changed: { vi: 'Dịch vụ systemd bị sửa', en: 'Systemd unit changed' },
  systemd_unit_removed: { vi: 'Dịch vụ systemd bị xoá', en: 'Systemd unit removed' },
  preload_set: { vi: 'Tệp ld.so.preload được đặt', en: 'ld.so.preload set' },
  preload_cleared: { vi: 'Tệp ld.so.preload được xoá', en: 'ld.so.preload cleared' },
  rc_local_changed: { vi: 'Tập lệnh khởi động bị thay đổi', en: 'Boot script changed' },
  shell_profile_changed: { vi: 'Tập lệnh đăng nhập bị thay đổi', en: 'Shell profile changed' },
  sudoers_changed: { vi: 'Cấu hình sudo bị thay đổi', en: 'sudoers changed' },
  pam_module_changed: { vi: 'Cấu hình PAM bị thay đổi', en: 'PAM changed' },
  kernel_module_loaded: { vi: 'Mô-đun nhân mới được nạp', en: 'Kernel module loaded' },
  suid_binary_added: { vi: 'Tệp SUID/SGID mới', en: 'SUID/SGID file added' },
  suid_binary_changed: { vi: 'Tệp SUID/SGID bị sửa', en: 'SUID/SGID file changed' },
  suid_binary_removed: { vi: 'Tệp SUID/SGID bị gỡ', en: 'SUID/SGID file removed' },
  log_cleared: { vi: 'Nhật ký bị xoá', en: 'Log cleared' },
  audit_policy_changed: { vi: 'Chính sách kiểm toán bị sửa', en: 'Audit policy changed' },
  firewall_rule_added: { vi: 'Thêm luật tường lửa', en: 'Firewall rule added' },
  firewall_rule_modified: { vi: 'Sửa luật tường lửa', en: 'Firewall rule modified' },
  firewall_rule_deleted: { vi: 'Xoá luật tường lửa', en: 'Firewall rule deleted' },
  firewall_reset: { vi: 'Tường lửa bị đặt lại', en: 'Firewall reset' },
  firewall_setting_changed: { vi: 'Thiết lập tường lửa bị sửa', en: 'Firewall setting changed' },
  web_scan: { vi: 'Dò quét trang web', en: 'Web scan' },
  web_scanner: { vi: 'Công cụ dò quét trang web', en: 'Web scanner' },
  web_sensitive_file_probe: { vi: 'Tìm tệp nhạy cảm trên trang web', en: 'Sensitive file probe' },
  web_path_traversal: { vi: 'Thử truy cập thư mục ngoài trang web', en: 'Path traversal' },
  web_sqli_probe: { vi: 'Thử chèn mã SQL', en: 'SQL injection probe' },
  web_xss_probe: { vi: 'Thử chèn mã script (XSS)', en: 'XSS probe' },
  web_admin_probe: { vi: 'Dò trang quản trị', en: 'Admin page probe' },
  web_login_brute_force: { vi: 'Dò mật khẩu trang đăng nhập web', en: 'Web login brute force' },
  web_exploit_attempt: { vi: 'Thử khai thác lỗ hổng đã biết', en: 'Exploit attempt' },
  web_shell_access: { vi: 'Truy cập web shell', en: 'Web shell access' },
  host_reboot: { vi: 'Máy khởi động lại', en: 'Host rebooted' },
  clock_step: { vi: 'Đồng hồ máy bị chỉnh', en: 'Clock step' },
};

export function eventTypeName(type: string, lang: GlossaryLang): string {
  return EVENT_TYPE_NAMES[type]?.[lang] ?? type;
}

type Evidence = Readonly<Record<string, unknown>>;

/** The evidence key that best names what an event is about, in this order. */
const SUBJECT_KEYS = ['path', 'src_ip', 'user', 'ip', 'module', 'program', 'exe', 'process', 'port'] as const;

/**
 * An event's one-line message in the reader's language. Agents write their messages in
 * English; in Vietnamese the sentence is rebuilt from the type and the evidence, so no
 * English reaches a Vietnamese reader (the evidence is listed beside it in full).
 */
export function eventMessage(e: { type: string; message: string; evidence?: Evidence; count?: number; mitre?: string }, lang: GlossaryLang): string {
  if (lang === 'en') return e.message;
  const ev = e.evidence ?? {};
  const s = (k: string) => (ev[k] === undefined || ev[k] === '' ? undefined : String(ev[k]));
  switch (e.type) {
    case 'brute_force': {
      const users = s('users')?.split(/\n|, /).filter(Boolean) ?? [];
      const shown = users.slice(0, 5);
      const rest = Number(s('user_count') ?? users.length) - shown.length;
      const who = shown.length ? ` vào tài khoản ${shown.join(', ')}${rest > 0 ? ` và ${rest} tài khoản khác` : ''}` : '';
      const service = s('service') ? ` (${s('service')})` : '';
      const count = e.count ?? Number(s('total_failures') ?? 0);
      if (s('update') === 'true')
        return `Tấn công dò mật khẩu từ ${s('src_ip') ?? '?'}${service} vẫn tiếp diễn: thêm ${count} lần đăng nhập sai (tổng ${s('total_failures') ?? count})${who}`;
      const within = s('window_s') ? ` trong ${durationText(Number(s('window_s')), 'vi')}` : '';
      return `Tấn công dò mật khẩu${service}: ${count} lần đăng nhập sai từ ${s('src_ip') ?? '?'}${within}${who}${e.mitre === 'T1110.003' ? ' (rải mật khẩu trên nhiều tài khoản)' : ''}`;
    }
    case 'brute_force_success':
      return `Đăng nhập thành công vào ${s('user') ?? '?'} từ ${s('src_ip') ?? '?'}${s('method') ? ` (${s('method')})` : ''}${s('failures') ? ` sau ${s('failures')} lần sai từ địa chỉ đó` : ''}: tài khoản có thể đã bị chiếm`;
    case 'off_hours_privileged_login':
      return `Tài khoản quản trị ${s('user') ?? '?'} đăng nhập lúc ${s('local_time') ?? '?'}, ngoài giờ làm việc, từ ${s('src_ip') ?? '?'}`;
    case 'new_listening_port':
      return `Cổng ${s('port') ?? '?'}${s('address') ? ` trên ${s('address')}` : ''} mới được mở${s('process') ? ` bởi ${s('process')}` : ''}`;
    case 'new_lan_device':
      return `Thiết bị mới ${s('ip') ?? ''}${s('mac') ? ` (${s('mac')})` : ''} trong mạng LAN`;
    case 'arp_spoofing':
      return `${s('ip') ?? '?'} đang được trả lời từ MAC ${s('mac') ?? '?'} thay vì ${s('expected_mac') ?? 'MAC đã biết'}`;
  }
  const name = eventTypeName(e.type, 'vi');
  const key = SUBJECT_KEYS.find((k) => s(k) !== undefined);
  const change = s('change') ? ` (${fieldValue('change', s('change'), 'vi')})` : '';
  const times = e.count && e.count > 1 ? `, ${e.count} lần` : '';
  return key ? `${name}: ${s(key)}${change}${times}` : `${name}${change}${times}`;
}

/**
 * Words of dashboard legends in Vietnamese: the column names a query gives its values
 * (shown through Grafana's $col) and the fixed words of legend templates.
 */
export const LEGEND_WORDS_VI: Record<string, string> = {
  in: 'vào',
  out: 'ra',
  in_bps: 'vào (bit/s)',
  out_bps: 'ra (bit/s)',
  'in errors': 'lỗi chiều vào',
  'out errors': 'lỗi chiều ra',
  'in discards': 'bỏ chiều vào',
  'out discards': 'bỏ chiều ra',
  err_in: 'lỗi nhận',
  err_out: 'lỗi gửi',
  drop_in: 'bỏ khi nhận',
  drop_out: 'bỏ khi gửi',
  total: 'tổng',
  running: 'đang chạy',
  blocked: 'bị chặn',
  zombies: 'zombie',
  read: 'đọc',
  write: 'ghi',
  user: 'người dùng',
  system: 'hệ thống',
  iowait: 'chờ I/O',
  steal: 'bị lấy (steal)',
  load1: 'tải 1 phút',
  load5: 'tải 5 phút',
  load15: 'tải 15 phút',
  connect: 'kết nối',
  'first byte': 'byte đầu tiên',
  memory: 'bộ nhớ',
  swap: 'bộ nhớ ảo',
  points: 'điểm dữ liệu',
  events: 'sự kiện',
  jitter: 'độ dao động',
  from: 'đo từ',
  failed: 'thất bại',
  used: 'đã dùng',
  free: 'còn trống',
};
