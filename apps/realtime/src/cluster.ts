import cluster, { type Worker } from 'node:cluster';
import { createServer, STATUS_CODES, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { setupMaster, setupWorker } from '@socket.io/sticky';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { Server } from 'socket.io';
import type { Logger } from '@kinora/observability';

/** What a worker tells its primary once it can take connections. */
const READY = 'kinora:realtime-ready';

export interface PrimaryOptions {
  workers: number;
  port: number;
  host: string;
  /** How long the workers get to drain after SIGTERM before they are killed. */
  shutdownGraceMs: number;
  logger: Logger;
}

/**
 * The primary of a multi-worker realtime instance (`REALTIME_WORKERS` > 1): it owns the port and serves nothing
 * itself. Each TCP connection is handed to a worker, sticky by Engine.IO session id so that the HTTP long-polling
 * requests of one client reach the worker that holds its session (new sessions go to the worker with the fewest);
 * the connection's descriptor then lives in the worker, so the instance holds as many connections as its workers
 * together. Workers reach each other's clients through the Redis adapter, as separate instances do. A worker that
 * dies is replaced; SIGTERM stops accepting, lets the workers drain, and exits.
 */
export async function runPrimary(opts: PrimaryOptions): Promise<{ port: number }> {
  const { logger } = opts;
  // The connection hand-over sends the first chunk of each connection as a Buffer.
  cluster.setupPrimary({ serialization: 'advanced' });
  const server = createServer();
  setupMaster(server, { loadBalancingMethod: 'least-connection' });
  const aggregator = new AggregatorRegistry();
  routeInPrimary(server, { metrics: async () => ({ type: aggregator.contentType, body: await aggregator.clusterMetrics() }) });
  let stopping = false;
  let restarts = 0;

  const start = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork();
      const onMessage = (msg: unknown) => {
        if ((msg as { type?: string } | null)?.type !== READY) return;
        worker.off('message', onMessage);
        worker.off('exit', onEarlyExit);
        resolve(worker);
      };
      const onEarlyExit = (code: number | null, signal: string | null) => reject(new Error(`realtime worker exited before it was ready (code ${code}, signal ${signal})`));
      worker.on('message', onMessage);
      worker.once('exit', onEarlyExit);
    });

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    restarts++;
    const delayMs = Math.min(30_000, 500 * 2 ** Math.min(restarts - 1, 6));
    logger.error({ worker: worker.process.pid, code, signal, restartInMs: delayMs }, 'realtime worker died: its clients reconnect to the others; starting a new one');
    setTimeout(() => {
      if (stopping) return;
      start().then(
        (w) => logger.info({ worker: w.process.pid }, 'realtime worker replaced'),
        (err: unknown) => logger.error({ err: { message: (err as Error).message } }, 'realtime worker did not start'),
      );
    }, delayMs).unref();
  });

  const first = await Promise.all(Array.from({ length: opts.workers }, start));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  logger.info({ port, workers: first.map((w) => w.process.pid) }, 'realtime instance ready');

  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining the workers');
    server.close();
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            const kill = setTimeout(() => w.process.kill('SIGKILL'), opts.shutdownGraceMs + 5_000);
            w.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            w.process.kill('SIGTERM');
          }),
      ),
    );
    logger.info({}, 'stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return { port };
}

export interface PrimaryRoutes {
  /** `GET /metrics` answered by the primary: the workers' registries summed (prom-client's AggregatorRegistry). */
  metrics: () => Promise<{ type: string; body: string }>;
}

/**
 * Wraps @socket.io/sticky's routing of each connection (call after `setupMaster`):
 *
 * - `GET /metrics` is answered by the primary with every worker's metrics aggregated, so one scrape sees the whole
 *   instance (a worker would only know its own sockets);
 * - everything else goes to sticky, and a connection it hands over whole (no request body announced) is no longer
 *   read by the primary. Handing a socket to another process leaves the sender's copy of the descriptor open, and
 *   read by its event loop, until the receiver acknowledges it; Node throws away what that copy reads (the handle's
 *   `onread` is a no-op by then). Bytes the client sent in that window (the rest of a header split over two
 *   segments, a pipelined request, a WebSocket client's first frames while the primary is slow to see the
 *   acknowledgement) were lost. With reading stopped they stay in the kernel until the worker reads them.
 */
export function routeInPrimary(server: HttpServer, routes: PrimaryRoutes): void {
  // Runs after sticky's own 'connection' listener, which has just installed its 'data' listener.
  server.on('connection', (socket: Socket) => {
    const sticky = socket.listeners('data') as Array<(chunk: Buffer) => void>;
    socket.removeAllListeners('data');
    socket.once('data', (chunk: Buffer) => {
      if (METRICS_REQUEST.test(chunk.subarray(0, 32).toString('latin1'))) {
        socket.pause();
        socket.on('error', () => socket.destroy());
        routes.metrics().then(
          ({ type, body }) => answer(socket, 200, type, body),
          (err: unknown) => answer(socket, 503, 'text/plain; charset=utf-8', `metrics unavailable: ${(err as Error).message}\n`),
        );
        return;
      }
      if (handedOverWhole(chunk)) stopReading(socket);
      for (const listener of sticky) socket.on('data', listener);
      for (const listener of sticky) listener.call(socket, chunk);
    });
  });
}

const METRICS_REQUEST = /^GET \/metrics(?:[ ?])/;

function answer(socket: Socket, status: number, type: string, body: string): void {
  const payload = Buffer.from(body);
  socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${type}\r\nContent-Length: ${payload.length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n`), payload]));
}

function stopReading(socket: Socket): void {
  socket.pause();
  const handle = (socket as unknown as { _handle?: { readStop?: () => number } | null })._handle;
  handle?.readStop?.();
  // While the hand-over waits for an earlier one's acknowledgement, Node's stream would start reading again.
  socket._read = () => undefined;
}

/** Whether @socket.io/sticky hands the connection itself to the worker (no request body announced). */
export function handedOverWhole(chunk: Buffer): boolean {
  const end = chunk.indexOf('\r\n\r\n');
  const header = chunk.subarray(0, end === -1 ? chunk.length - 1 : end).toString('latin1').toLowerCase();
  return !header.includes('content-length:') && !header.includes('transfer-encoding:');
}

/**
 * In a worker: take the connections the primary hands over, answer its metrics requests from `registry`, then tell it
 * the worker is ready.
 */
export function joinPrimary(io: Server, registry?: Registry): void {
  if (registry) {
    AggregatorRegistry.setRegistries([registry]);
    new AggregatorRegistry(); // installs the worker's answer to the primary's requests (idempotent)
  }
  setupWorker(io as never);
  process.send?.({ type: READY });
}

export const isRealtimeWorker = (): boolean => cluster.isWorker;
