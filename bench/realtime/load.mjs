// A load generator process for `bench/realtime/run.mjs`: opens its share of socket.io clients (websocket transport,
// source addresses spread over 127.0.0.2-127.0.0.201 so ephemeral ports never run out), joins each to its video, and
// records when each `video:counts` arrives. Talks to the coordinator over IPC.
//
// Two client implementations (BENCH_CLIENT): `raw` (default) speaks the Engine.IO 4 / Socket.IO 5 wire protocol
// over a bare `ws` WebSocket (open, namespace connect, one acked emit, ping/pong, events; what the benchmark needs and
// nothing more), so the thousands of clients in one process cost little CPU and the measured delay is the server's;
// `socket.io` uses socket.io-client itself (about three times the client CPU per message, which on a 2-core machine
// competes with the server being measured).
import { io } from 'socket.io-client';
import WebSocket from 'ws';

const { url, count, watchers, videoId, otherVideos, offset, concurrency } = JSON.parse(process.argv[2]);
const sockets = [];
const arrivals = new Map(); // views → arrival times (ms, timeOrigin-based clock)
let connected = 0;
let failed = 0;
const reasons = {}; // why clients failed to connect and join, for the report
const failedBecause = (reason) => (reasons[reason] = (reasons[reason] ?? 0) + 1);
const failures = []; // the first few failed clients in detail: address, port and when each step happened

const NSP = '/realtime';
const EVENT_PREFIX = `42${NSP},`;
const ACK_PREFIX = `43${NSP},`;

/** One client on the raw protocol: resolves once it has joined its video (or failed). */
function openRaw(i) {
  return new Promise((resolve) => {
    const global = offset + i;
    const target = i < watchers ? videoId : `${videoId.slice(0, -4)}${String(global % otherVideos).padStart(4, '0')}`;
    const u = new URL(url);
    const ws = new WebSocket(`ws://${u.host}/socket.io/?EIO=4&transport=websocket`, { localAddress: `127.0.0.${2 + (global % 200)}`, perMessageDeflate: false });
    let state = 'opening';
    const t0 = performance.now();
    const steps = [];
    const step = (name) => steps.push(`${name}@${Math.round(performance.now() - t0)}`);
    const fail = (reason) => {
      if (state === 'done') return;
      failedBecause(`${reason} while ${state}`);
      if (failures.length < 10) failures.push({ reason, state, local: `${ws._socket?.localAddress}:${ws._socket?.localPort}`, startedAt: Math.round(t0), steps: steps.join(' ') });
      state = 'done';
      failed++;
      ws.terminate();
      resolve();
    };
    const timer = setTimeout(() => fail('timeout'), 60_000);
    ws.on('error', (err) => fail(`error ${err.code ?? err.message}`));
    ws.on('upgrade', () => step('upgraded'));
    ws.on('close', (code) => {
      if (state !== 'done' && state !== 'joined') fail(`close ${code}`);
    });
    ws.on('message', (data) => {
      const text = data.toString();
      if (text === '2') {
        ws.send('3');
        return;
      }
      if (state === 'joined') {
        if (i < watchers && text.startsWith(EVENT_PREFIX)) {
          const at = performance.timeOrigin + performance.now();
          const [event, c] = JSON.parse(text.slice(EVENT_PREFIX.length));
          if (event !== 'video:counts' || c.videoId !== videoId) return;
          let list = arrivals.get(c.views);
          if (!list) arrivals.set(c.views, (list = []));
          list.push(at);
        }
        return;
      }
      if (state === 'opening' && text.startsWith('0{')) {
        step(`open(${text.slice(8, 28)})`);
        state = 'connecting';
        ws.send(`40${NSP},`);
      } else if (state === 'connecting' && text.startsWith(`40${NSP},`)) {
        step('connected');
        state = 'joining';
        ws.send(`42${NSP},1${JSON.stringify(['video:join', { videoId: target }])}`);
      } else if (state === 'connecting' && text.startsWith(`44${NSP},`)) {
        fail(`refused ${text.slice(0, 80)}`);
      } else if (state === 'joining' && text.startsWith(`${ACK_PREFIX}1`)) {
        const [ack] = JSON.parse(text.slice(ACK_PREFIX.length + 1));
        if (!ack?.ok) return fail(`join answered ${JSON.stringify(ack).slice(0, 80)}`);
        clearTimeout(timer);
        state = 'joined';
        connected++;
        sockets.push({ disconnect: () => ws.close() });
        resolve();
      }
    });
  });
}

function open(i) {
  return process.env.BENCH_CLIENT === 'socket.io' ? openSocketIo(i) : openRaw(i);
}

function openSocketIo(i) {
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
  process.send({ type: 'opened', connected, failed, reasons, failures });
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
