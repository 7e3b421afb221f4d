// A load generator process for `bench/realtime/run.mjs`: opens its share of socket.io clients (websocket transport,
// source addresses spread over 127.0.0.2-127.0.0.201 so ephemeral ports never run out), joins each to its video, and
// records when each `video:counts` arrives. Talks to the coordinator over IPC.
import { io } from 'socket.io-client';

const { url, count, watchers, videoId, otherVideos, offset, concurrency } = JSON.parse(process.argv[2]);
const sockets = [];
const arrivals = new Map(); // views → arrival times (ms, timeOrigin-based clock)
let connected = 0;
let failed = 0;

function open(i) {
  return new Promise((resolve) => {
    const global = offset + i;
    const s = io(`${url}/realtime`, {
      path: '/socket.io',
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 60_000,
      localAddress: `127.0.0.${2 + (global % 200)}`,
    });
    const target = i < watchers ? videoId : `${videoId.slice(0, -4)}${String(global % otherVideos).padStart(4, '0')}`;
    s.once('connect', async () => {
      try {
        const ack = await s.timeout(60_000).emitWithAck('video:join', { videoId: target });
        if (!ack.ok) throw new Error(JSON.stringify(ack.error));
        connected++;
        sockets.push(s);
      } catch {
        failed++;
        s.disconnect();
      }
      resolve();
    });
    s.once('connect_error', () => {
      failed++;
      s.disconnect();
      resolve();
    });
    if (i < watchers) {
      s.on('video:counts', (c) => {
        if (c.videoId !== videoId) return;
        const at = performance.timeOrigin + performance.now();
        let list = arrivals.get(c.views);
        if (!list) arrivals.set(c.views, (list = []));
        list.push(at);
      });
    }
  });
}

async function openAll() {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await open(i);
      if ((connected + failed) % 500 === 0) process.send({ type: 'progress', connected, failed });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  process.send({ type: 'opened', connected, failed });
}

process.on('message', (msg) => {
  if (msg.type === 'arrivals') {
    process.send({ type: 'arrivals', arrivals: Object.fromEntries([...arrivals].map(([k, v]) => [k, v])) });
    arrivals.clear();
  } else if (msg.type === 'close') {
    for (const s of sockets) s.disconnect();
    process.send({ type: 'closed' });
    setTimeout(() => process.exit(0), 200);
  }
});

await openAll();
