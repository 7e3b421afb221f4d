import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface RealtimeGauges {
  clients(): number;
  authenticatedClients(): number;
  videoRooms(): number;
  userRooms(): number;
}

/** The realtime service's metrics (registered once per app registry). */
export class RealtimeMetrics {
  readonly emits: Counter<'event' | 'scope'>;
  readonly adapterLag: Histogram;
  readonly chat: Counter<'result'>;
  readonly countsFlush: Histogram;
  readonly countsPushed: Counter;
  readonly connections: Counter<'result'>;

  constructor(registry: Registry, gauges: RealtimeGauges) {
    const registers = [registry];
    new Gauge({ name: 'realtime_connected_clients', help: 'Sockets connected to this instance', registers, collect() { this.set(gauges.clients()); } });
    new Gauge({ name: 'realtime_authenticated_clients', help: 'Connected sockets with a signed-in user', registers, collect() { this.set(gauges.authenticatedClients()); } });
    new Gauge({
      name: 'realtime_rooms',
      help: 'Rooms with at least one socket on this instance, by kind (video, user)',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        this.set({ kind: 'video' }, gauges.videoRooms());
        this.set({ kind: 'user' }, gauges.userRooms());
      },
    });
    this.emits = new Counter({
      name: 'realtime_emits_total',
      help: 'Emits by event; scope=local (this instance only) or cluster (through the adapter to every instance). rate() gives emits/s',
      labelNames: ['event', 'scope'] as const,
      registers,
    });
    this.adapterLag = new Histogram({
      name: 'realtime_adapter_lag_seconds',
      help: 'Time from a broadcast being appended to the Redis stream to this instance reading it',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.chat = new Counter({ name: 'realtime_chat_messages_total', help: 'chat:send requests by result', labelNames: ['result'] as const, registers });
    this.countsFlush = new Histogram({
      name: 'realtime_counts_poll_duration_seconds',
      help: 'Duration of one counts poll (presence sync, counters, pushes)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.countsPushed = new Counter({ name: 'realtime_counts_pushes_total', help: 'video:counts pushes to a video room of this instance', registers });
    this.connections = new Counter({ name: 'realtime_handshakes_total', help: 'Handshakes by result (anonymous, user, refused)', labelNames: ['result'] as const, registers });
  }
}
