import { createServer } from 'node:net';

/**
 * Thrown by {@link assertPortFree}: the port is taken or cannot be bound. The message says which and what to do;
 * `address` (`host:port`, `[v6]:port`) and `reason` (`is already in use`, …) are its parts, for a caller that words
 * its own line (the edge names its setting beside the address).
 */
export class PortUnavailableError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly address: string,
    readonly reason: string,
  ) {
    super(message);
    this.name = 'PortUnavailableError';
  }
}

/** `host:port`, the host in brackets when it is an IPv6 address. */
export function formatAddress(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The error a failed bind of `port` on `host` becomes; `variable` is the setting to change, named in the advice. */
export function portUnavailable(err: { code?: string | undefined; message: string }, port: number, host: string, variable: string): PortUnavailableError {
  const address = formatAddress(host, port);
  const [reason, advice] =
    err.code === 'EADDRINUSE'
      ? ['is already in use', ` by another program (a running \`npm start\` or \`npm run cluster\`?): stop it, or choose another port with ${variable}=…`]
      : err.code === 'EACCES'
        ? ['needs privileges (ports below 1024: root or CAP_NET_BIND_SERVICE)', `: choose another port with ${variable}=…`]
        : [`cannot be bound (${err.code ?? err.message})`, ''];
  return new PortUnavailableError(`port ${address} ${reason}${advice}`, err.code, address, reason);
}

/**
 * Binds `port` on `host` for a moment (every interface by default, as the edge listens), so that a start-up fails at
 * once with one clear line when another program (a running `npm start`, say) already answers there, instead of
 * reporting ready because that other program answers the readiness probe.
 */
export async function assertPortFree(port: number, host = '0.0.0.0', variable = 'PORT'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => reject(portUnavailable(err, port, host, variable)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
