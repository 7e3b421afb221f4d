import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JSONWebKeySet } from 'jose';
import { io as connectClient, type Socket } from 'socket.io-client';
import type { Principal, RealtimeClientToServerEvents, RealtimeServerToClientEvents } from '@kinora/contracts';
import { ACCESS_TOKEN_AUDIENCE } from '@kinora/auth';

export const ISSUER = 'http://kinora.test';
export const AUDIENCE = ACCESS_TOKEN_AUDIENCE;

export type Client = Socket<RealtimeServerToClientEvents, RealtimeClientToServerEvents>;

/** An Ed25519 signing key and its JWKS, standing in for the user service. */
export async function createSigner(): Promise<{ jwks: JSONWebKeySet; sign(p: Principal, ttlSec?: number, opts?: { expSec?: number }): Promise<string> }> {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  return {
    jwks: { keys: [jwk] },
    async sign(p, ttlSec = 600, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ name: p.username, sid: p.sessionId })
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setSubject(p.userId)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(now - 60)
        .setExpirationTime(opts.expSec ?? now + ttlSec)
        .sign(privateKey);
    },
  };
}

export function newUser(name = 'user'): Principal {
  return { userId: randomUUID(), username: `${name}${Math.random().toString(36).slice(2, 8)}`, sessionId: randomUUID() };
}

const clients: Client[] = [];

/** A socket.io client on `/realtime` (websocket transport); resolves once connected, rejects with the connect error. */
export async function connect(url: string, token?: string, opts: { reconnection?: boolean; transports?: ('websocket' | 'polling')[] } = {}): Promise<Client> {
  const socket: Client = connectClient(`${url}/realtime`, {
    path: '/socket.io',
    transports: opts.transports ?? ['websocket'],
    auth: token ? { token } : {},
    forceNew: true,
    reconnection: opts.reconnection ?? false,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    timeout: 5000,
  });
  clients.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => {
      if (!(opts.reconnection ?? false)) reject(err);
    });
  });
  return socket;
}

export function closeClients(): void {
  for (const c of clients.splice(0)) c.disconnect();
}

/** Collects the payloads of one server event. */
export function collect<E extends keyof RealtimeServerToClientEvents>(socket: Client, event: E): Parameters<RealtimeServerToClientEvents[E]>[0][] {
  const got: Parameters<RealtimeServerToClientEvents[E]>[0][] = [];
  (socket as unknown as { on(e: string, fn: (p: unknown) => void): void }).on(event, (p) => got.push(p as never));
  return got;
}

/** Emits with an acknowledgement (loosely typed, so tests can send anything). */
export async function ask(socket: Client, event: string, ...args: unknown[]): Promise<any> {
  return (socket as unknown as { timeout(ms: number): { emitWithAck(e: string, ...a: unknown[]): Promise<unknown> } }).timeout(5000).emitWithAck(event, ...args);
}

export async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
