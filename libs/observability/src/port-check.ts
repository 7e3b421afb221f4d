import { createServer } from 'node:net';

/** Thrown by {@link assertPortFree}: the port is taken or cannot be bound; the message says which and what to do. */
export class PortUnavailableError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'PortUnavailableError';
  }
}

/**
 * Binds `port` on `host` for a moment (every interface by default, as the edge listens), so that a start-up fails at
 * once with one clear line when another program (a running `npm start`, say) already answers there, instead of
 * reporting ready because that other program answers the readiness probe.
 */
export async function assertPortFree(port: number, host = '0.0.0.0', variable = 'PORT'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      const why =
        err.code === 'EADDRINUSE'
          ? `is already in use by another program (a running \`npm start\` or \`npm run cluster\`?): stop it, or choose another port with ${variable}=…`
          : err.code === 'EACCES'
            ? `needs privileges (ports below 1024: root or CAP_NET_BIND_SERVICE): choose another port with ${variable}=…`
            : `cannot be bound (${err.code ?? err.message})`;
      reject(new PortUnavailableError(`port ${where} ${why}`, err.code));
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
