// The categories of persistence the detector knows (its config schema is in index.ts,
// where the config reference generator reads the options' comments).

export const CATEGORIES = ['cron', 'systemd', 'preload', 'rc_local', 'shell_profile', 'sudoers', 'pam', 'kernel_modules', 'suid'] as const;
export type Category = (typeof CATEGORIES)[number];
