import { createServer, type Server } from 'node:net';

function listenOnFreePort(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('could not read the port of a probe socket'));
      else resolve(address.port);
    });
  });
}

/**
 * Distinct free TCP ports on `host`, asked from the kernel (bind to port 0). The probes stay open until all are
 * taken, so one call never returns the same port twice.
 */
export async function getFreePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const server = createServer();
      server.unref();
      servers.push(server);
      ports.push(await listenOnFreePort(server, host));
    }
    return ports;
  } finally {
    await Promise.all(
      servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))),
    );
  }
}

/** One free TCP port on `host` (127.0.0.1 by default). */
export async function getFreePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await getFreePorts(1, host);
  if (port === undefined) throw new Error('no free port found');
  return port;
}


// The start-up check of the platform's own entry points, re-exported for the harness's cluster.
export { assertPortFree, PortUnavailableError } from '@kinora/config/port-check';
