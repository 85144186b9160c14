// Frames without a socket: the quick read of an ack (nearly every message from the
// collector), and a backlog's batches merged into fewer, bigger frames: consecutive
// batches without events, up to batch_size points and the message limit, as rows.
import { DEFAULT_MAX_MESSAGE_BYTES, pointsOf, RowsWriter, type Batch } from '@canh/protocol';
import type { SpoolEntry } from '@canh/core';

/**
 * An ack in the form the collector writes it, read without even JSON.parse: acks are
 * nearly every message, one per batch. Anything else goes to the full decoder.
 */
const ACK = /^\{"type":"ack","seq":(\d{1,15})\}$/;
export function quickAck(data: Buffer | string): number | undefined {
  if (data.length > 48) return undefined;
  const m = ACK.exec(typeof data === 'string' ? data : data.toString('latin1'));
  return m ? Number(m[1]) : undefined;
}

/** Most spooled batches merged into one frame. */
export const MERGE_MAX = 64;

/**
 * One `batch` frame with the points of several spooled batches (none with events), as
 * rows, carrying `seq`. undefined when one of them cannot be read back.
 */
export function mergedFrame(seq: number, records: readonly { frame: string | Buffer }[]): string | undefined {
  const rows = new RowsWriter();
  try {
    for (const r of records) {
      const b = JSON.parse(typeof r.frame === 'string' ? r.frame : r.frame.toString('utf8')) as Partial<Batch>;
      if (b.type !== 'batch' || (b.events?.length ?? 0) > 0) return undefined;
      for (const p of pointsOf({ points: b.points ?? [], series: b.series ?? [], rows: b.rows ?? [] })) rows.add(p);
    }
  } catch {
    return undefined;
  }
  return `{"type":"batch","seq":${seq},${rows.json()},"events":[]}`;
}

/** The batches from waiting[i] on that go in one frame: consecutive, without events, within batch_size points and the message limit. */
export function mergeable(
  waiting: readonly SpoolEntry[],
  i: number,
  opts: { readonly maxBatchPoints?: number; readonly maxMessageBytes?: number },
): SpoolEntry[] {
  const group = [waiting[i]!];
  if (group[0]!.events > 0) return group;
  const maxPoints = opts.maxBatchPoints ?? 1000;
  const maxBytes = (opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES) * 0.9;
  let points = group[0]!.points;
  let bytes = group[0]!.bytes;
  for (let k = i + 1; k < waiting.length; k++) {
    const r = waiting[k]!;
    if (group.length >= MERGE_MAX || r.events > 0 || points + r.points > maxPoints || bytes + r.bytes > maxBytes) break;
    group.push(r);
    points += r.points;
    bytes += r.bytes;
  }
  return group;
}
