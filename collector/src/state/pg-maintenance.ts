// Maintenance windows from `canh-collector maintenance add` in PostgreSQL: the same
// MaintenanceWindows the engine reads at every round, over a mirror every collector
// reloads on NOTIFY (as silences), so a window added through any collector or the CLI
// holds back the leader's mail at its next round. Writes are not fenced: anyone may add one.
import {
  findWindow,
  maintenanceBody,
  toMaintenance,
  type MaintenanceRow,
  type MaintenanceWindows,
  type StoredMaintenance,
} from '../alerts/maintenance-store.ts';
import type { PgState } from './postgres.ts';
import { PgMirror } from './pg-mirror.ts';

export class PgMaintenanceStore extends PgMirror implements MaintenanceWindows {
  private windows: StoredMaintenance[] = [];

  private constructor(state: PgState) {
    super(state, 'maintenance');
  }

  static load(state: PgState): Promise<PgMaintenanceStore> {
    return new PgMaintenanceStore(state).loaded();
  }

  protected async reload(): Promise<void> {
    const r = await this.state.pool.query<MaintenanceRow>('SELECT * FROM maintenance_windows ORDER BY created_at, id');
    this.windows = r.rows.map(toMaintenance);
  }

  add(w: StoredMaintenance): void {
    this.windows.push(structuredClone(w));
    this.state.enqueue({
      statements: [{ sql: 'INSERT INTO maintenance_windows (id, body, created_at) VALUES ($1, $2, $3)', params: [w.id, maintenanceBody(w), w.createdAt] }],
      fenced: false,
      topics: ['maintenance'],
    });
  }

  list(): StoredMaintenance[] {
    return this.windows.map((w) => structuredClone(w));
  }

  remove(id: string): StoredMaintenance | undefined {
    const w = findWindow(this.windows, id);
    if (!w) return undefined;
    this.windows = this.windows.filter((x) => x.id !== w.id);
    this.state.enqueue({ statements: [{ sql: 'DELETE FROM maintenance_windows WHERE id = $1', params: [w.id] }], fenced: false, topics: ['maintenance'] });
    return w;
  }
}
