// Login for the status page: users from the collector config, passwords compared as
// scrypt hashes in constant time, sessions as random cookies kept in memory (a restart
// logs everyone out, which is acceptable for a read-only page).
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

export interface StatusUser {
  name: string;
  password: string;
}

const SALT = randomBytes(16);
const hash = (s: string) => scryptSync(s, SALT, 32);

export class Sessions {
  private readonly users: Map<string, Buffer>;
  private readonly sessions = new Map<string, { user: string; expires: number }>();
  private readonly ttlMs: number;

  constructor(users: StatusUser[], ttlMs: number) {
    this.users = new Map(users.map((u) => [u.name, hash(u.password)]));
    this.ttlMs = ttlMs;
  }

  get enabled(): boolean {
    return this.users.size > 0;
  }

  /** A new session id for valid credentials, else undefined. */
  login(name: string, password: string): string | undefined {
    const want = this.users.get(name);
    // Hash even for unknown users so timing does not tell which names exist.
    const got = hash(password);
    if (!want || !timingSafeEqual(want, got)) return undefined;
    const id = randomBytes(32).toString('base64url');
    this.sessions.set(id, { user: name, expires: Date.now() + this.ttlMs });
    return id;
  }

  user(id: string | undefined): string | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s.user;
  }

  logout(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }
}

export function cookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
