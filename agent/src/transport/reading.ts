// Reading at ticks (`readAtTicks`): the socket under the WebSocket stops reading between a
// tick's send and the next tick, so the ack of the tick's batch waits in the kernel instead
// of waking the agent on its own, and is read when the next tick resumes reading.
import type { WebSocket } from 'ws';

interface ReadHandle {
  reading?: boolean;
  readStop?(): number;
  readStart?(): number;
}

/** The socket under a WebSocket (ws keeps it as `_socket`). */
function socketOf(ws: WebSocket): { pause(): void; resume(): void; _handle?: ReadHandle | null } | undefined {
  return (ws as unknown as { _socket?: ReturnType<typeof socketOf> })._socket;
}

/** Stop reading `ws`'s socket; false when it cannot be stopped (nothing changed). */
export function stopReading(ws: WebSocket): boolean {
  const socket = socketOf(ws);
  const handle = socket?._handle;
  // Node's net.Socket pause() only stops pushing data to 'data' listeners; libuv goes on
  // reading (and waking the process) until the stream's buffer is full. Stop the read
  // itself, as pause() does for sockets with an `onread` buffer; resume() restarts it.
  if (!socket || !handle?.readStop || !handle.readStart) return false;
  socket.pause();
  if (handle.reading) {
    handle.reading = false;
    handle.readStop();
  }
  return true;
}

/** Read `ws`'s socket again; false when the read could not be restarted (the connection is unusable). */
export function startReading(ws: WebSocket): boolean {
  const socket = socketOf(ws);
  if (!socket) return true;
  // As net.Socket starts a read itself (its stream thinks a read is still under way).
  const handle = socket._handle;
  if (handle && !handle.reading && handle.readStart) {
    handle.reading = true;
    if (handle.readStart() !== 0) return false;
  }
  socket.resume();
  return true;
}
