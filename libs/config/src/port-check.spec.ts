import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { assertPortFree, formatAddress, PortUnavailableError, portUnavailable } from './port-check.js';

describe('portUnavailable', () => {
  it('says a taken port is in use, by whom perhaps, and which variable moves it', () => {
    const err = portUnavailable({ code: 'EADDRINUSE', message: 'listen EADDRINUSE' }, 8080, '0.0.0.0', 'PORT');
    expect(err).toBeInstanceOf(PortUnavailableError);
    expect(err.name).toBe('PortUnavailableError');
    expect(err.code).toBe('EADDRINUSE');
    expect(err.address).toBe('0.0.0.0:8080');
    expect(err.reason).toBe('is already in use');
    expect(err.message).toBe(
      'port 0.0.0.0:8080 is already in use by another program (a running `npm start` or `npm run cluster`?): stop it, or choose another port with PORT=…',
    );
  });

  it('says a port below 1024 needs privileges, and which variable moves it', () => {
    const err = portUnavailable({ code: 'EACCES', message: 'listen EACCES' }, 80, '127.0.0.1', 'EDGE_HTTP_PORT');
    expect(err.reason).toBe('needs privileges (ports below 1024: root or CAP_NET_BIND_SERVICE)');
    expect(err.message).toBe('port 127.0.0.1:80 needs privileges (ports below 1024: root or CAP_NET_BIND_SERVICE): choose another port with EDGE_HTTP_PORT=…');
  });

  it('names any other failure by its code, or by its message when there is none', () => {
    const coded = portUnavailable({ code: 'EADDRNOTAVAIL', message: 'listen EADDRNOTAVAIL' }, 9000, '10.255.255.1', 'PORT');
    expect(coded.reason).toBe('cannot be bound (EADDRNOTAVAIL)');
    expect(coded.message).toBe('port 10.255.255.1:9000 cannot be bound (EADDRNOTAVAIL)');
    const uncoded = portUnavailable({ message: 'something odd' }, 9000, 'localhost', 'PORT');
    expect(uncoded.code).toBeUndefined();
    expect(uncoded.message).toBe('port localhost:9000 cannot be bound (something odd)');
  });

  it('puts an IPv6 host in brackets', () => {
    expect(formatAddress('::', 8000)).toBe('[::]:8000');
    expect(formatAddress('::1', 8000)).toBe('[::1]:8000');
    expect(formatAddress('127.0.0.1', 8000)).toBe('127.0.0.1:8000');
    expect(portUnavailable({ code: 'EADDRINUSE', message: '' }, 8000, '::1', 'PORT').address).toBe('[::1]:8000');
  });
});

describe('assertPortFree', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  const listen = (port: number, host: string) =>
    new Promise<number>((resolve, reject) => {
      server = createServer();
      server.once('error', reject);
      server.listen({ port, host }, () => resolve((server!.address() as { port: number }).port));
    });

  it('resolves for a free port and leaves it free to bind', async () => {
    const port = await listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    await assertPortFree(port, '127.0.0.1');
    await assertPortFree(port, '127.0.0.1');
    await expect(listen(port, '127.0.0.1')).resolves.toBe(port);
  });

  it('rejects a port another program listens on with the parts a caller words its own line from', async () => {
    const port = await listen(0, '127.0.0.1');
    const err = await assertPortFree(port, '127.0.0.1', 'EDGE_HTTP_PORT').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PortUnavailableError);
    expect(err).toMatchObject({ code: 'EADDRINUSE', address: `127.0.0.1:${port}`, reason: 'is already in use' });
    expect((err as Error).message).toMatch(/choose another port with EDGE_HTTP_PORT=…$/);
  });
});
