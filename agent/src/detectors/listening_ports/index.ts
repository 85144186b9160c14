// listening_ports: reports TCP and UDP listeners (IPv4 and IPv6) that appear or go away
// compared with a persisted baseline. A new listener must persist past a grace period
// before it is reported, so short-lived sockets (DNS lookups, restarts) stay quiet. A
// listener is (protocol, address, port, executable path + inode): another program behind a
// known port is its own event, not a new port.
import { z } from 'zod';
import { defineInput } from '../../inputs/types.ts';
import { PortWatch } from './watch.ts';

// Ports long associated with backdoors and shells; a listener there is reported high.
const BACKDOOR_PORTS = [31337, 4444, 1337, 12345, 54321, 6666, 6667, 5554, 9999];

export const config = z.object({
  /** Gathers a listener must be seen in a row (after the first) before it is reported. */
  grace_intervals: z.number().int().min(0).default(2),
  protocols: z.array(z.enum(['tcp', 'tcp6', 'udp', 'udp6'])).default(['tcp', 'tcp6', 'udp', 'udp6']),
  /** Ports never reported (e.g. a service that binds random UDP ports). */
  ignore_ports: z.array(z.number().int().min(0).max(65535)).default([]),
  backdoor_ports: z.array(z.number().int().min(1).max(65535)).default(BACKDOOR_PORTS),
  /** More new listeners than this from one process in one gather become one event. */
  max_events_per_process: z.number().int().min(1).default(10),
  state_name: z
    .string()
    .regex(/^[a-z0-9_.-]+$/i)
    .default('listening_ports'),
});

export default defineInput({
  name: 'listening_ports',
  description: 'New and closed TCP/UDP listening ports (IPv4 and IPv6), with the owning process',
  platforms: ['linux'],
  config,
  create(cfg, ctx) {
    const watch = new PortWatch(cfg, ctx);
    return { gather: (acc) => watch.gather(acc), stop: () => watch.stop() };
  },
});
