// Baseline for `bench/realtime/run.mjs`: bare socket.io 4.8 on a bare HTTP server (no adapter, no authentication, no
// counts service), answering `video:join` and broadcasting the same `video:counts` payload to the same room. Same IPC
// protocol as server.mjs.
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { path: '/socket.io', serveClient: false });
const nsp = io.of('/realtime');
const counters = new Map();
nsp.on('connection', (socket) => {
  socket.on('video:join', ({ videoId }, ack) => {
    socket.join(`v:${videoId}`);
    ack({ ok: true, counts: { videoId, views: 0, likes: 0, dislikes: 0, comments: 0, watching: 0 } });
  });
});
await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
console.log(JSON.stringify({ port: http.address().port }));

const sendLoops = [];
const sendCpu = [];
process.on('message', (msg) => {
  if (msg.cmd === 'bump') {
    const views = (counters.get(msg.videoId) ?? 0) + 1;
    counters.set(msg.videoId, views);
    const room = `v:${msg.videoId}`;
    const t0 = performance.timeOrigin + performance.now();
    const t = performance.now();
    const cpu = process.cpuUsage();
    nsp.to(room).emit('video:counts', { videoId: msg.videoId, views, likes: 0, dislikes: 0, comments: 0, watching: nsp.adapter.rooms.get(room)?.size ?? 0 });
    sendLoops.push(performance.now() - t);
    const used = process.cpuUsage(cpu);
    sendCpu.push((used.user + used.system) / 1000);
    process.send({ id: msg.id, t0, views });
  } else if (msg.cmd === 'stats') {
    let heapUsed = null;
    try {
      heapUsed = process.memoryUsage().heapUsed;
    } catch {
      // descriptor ceiling
    }
    process.send({ id: msg.id, clients: nsp.sockets.size, watching: nsp.adapter.rooms.get(`v:${msg.videoId}`)?.size ?? 0, heapUsed, sendLoops: sendLoops.splice(0), sendCpu: sendCpu.splice(0) });
  }
});
const stop = () => {
  io.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('disconnect', stop);
