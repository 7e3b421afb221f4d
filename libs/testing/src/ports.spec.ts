import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { assertPortFree, getFreePort, PortUnavailableError } from './internal/ports.js';

describe('assertPortFree', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('resolves for a free port and leaves it free', async () => {
    const port = await getFreePort();
    await assertPortFree(port, '127.0.0.1');
    await assertPortFree(port, '127.0.0.1');
  });

  it('names the port, the reason and the variable to change when another program listens there', async () => {
    const port = await getFreePort();
    server = createServer();
    await new Promise<void>((resolve) => server!.listen({ port, host: '0.0.0.0' }, () => resolve()));
    const err = await assertPortFree(port, '0.0.0.0', 'PORT').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PortUnavailableError);
    expect((err as PortUnavailableError).code).toBe('EADDRINUSE');
    expect((err as Error).message).toBe(
      `port 0.0.0.0:${port} is already in use by another program (a running \`npm start\` or \`npm run cluster\`?): stop it, or choose another port with PORT=…`,
    );
  });

  it('sees a program on the loopback address when the edge would listen on every interface', async () => {
    const port = await getFreePort();
    server = createServer();
    await new Promise<void>((resolve) => server!.listen({ port, host: '127.0.0.1' }, () => resolve()));
    await expect(assertPortFree(port)).rejects.toThrow(/already in use/);
  });
});
