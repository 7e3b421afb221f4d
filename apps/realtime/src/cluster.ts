import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server as HttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { setupMaster, setupWorker } from '@socket.io/sticky';
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
  stopReadingHandedOver(server);
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

/**
 * Makes the primary stop reading a connection as soon as it has the first chunk that decides its worker, when the
 * connection itself will be handed over (everything but requests with a body, which the primary keeps and forwards
 * in chunks: the same test as @socket.io/sticky's).
 *
 * Why: handing a socket to another process leaves the sender's copy of the descriptor open, and read by its event
 * loop, until the receiver acknowledges it; Node throws away what that copy reads (the handle's `onread` is a no-op
 * by then). Bytes the client sent in that window (the rest of a request header split over two segments, a pipelined
 * request, a WebSocket client's first frames while the primary is slow to see the acknowledgement) went to the
 * primary and were lost. With reading stopped they stay in the kernel until the worker reads them.
 */
export function stopReadingHandedOver(server: HttpServer): void {
  // Runs after sticky's own 'connection' listener, which resets the 'data' listeners; ours goes before its.
  server.on('connection', (socket: Socket) => {
    socket.prependOnceListener('data', (chunk: Buffer) => {
      if (!handedOverWhole(chunk)) return;
      socket.pause();
      const handle = (socket as unknown as { _handle?: { readStop?: () => number } | null })._handle;
      handle?.readStop?.();
      // While the hand-over waits for an earlier one's acknowledgement, Node's stream would start reading again.
      socket._read = () => undefined;
    });
  });
}

/** Whether @socket.io/sticky hands the connection itself to the worker (no request body announced). */
export function handedOverWhole(chunk: Buffer): boolean {
  const end = chunk.indexOf('\r\n\r\n');
  const header = chunk.subarray(0, end === -1 ? chunk.length - 1 : end).toString('latin1').toLowerCase();
  return !header.includes('content-length:') && !header.includes('transfer-encoding:');
}

/** In a worker: take the connections the primary hands over, then tell it the worker is ready. */
export function joinPrimary(io: Server): void {
  setupWorker(io as never);
  process.send?.({ type: READY });
}

export const isRealtimeWorker = (): boolean => cluster.isWorker;
