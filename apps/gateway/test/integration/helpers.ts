import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';
import { ACCESS_TOKEN_AUDIENCE, TokenVerifier } from '@kinora/auth';
import { createLogger, type Logger } from '@kinora/observability';
import { getFreePort, waitUntil } from '@kinora/testing';

export const ISSUER = 'http://kinora.test';
export const AUDIENCE = ACCESS_TOKEN_AUDIENCE;
export const IDENTITY_SECRET = 'test-identity-secret-0123456789abcdef';

/** A signing key of our own, published as a JWKS, to mint tokens of every shape (expired, tampered, alg none). */
export interface TestKeys {
  jwks: JSONWebKeySet;
  kid: string;
  privateKey: CryptoKey;
  token(claims?: { sub?: string; name?: string; sid?: string; expSec?: number; iat?: number; iss?: string; aud?: string }): Promise<string>;
  verifier(): TokenVerifier;
}

export async function makeKeys(kid = `k-${Math.random().toString(36).slice(2, 8)}`): Promise<TestKeys> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'EdDSA', use: 'sig' };
  const jwks = { keys: [jwk] };
  return {
    jwks,
    kid,
    privateKey,
    async token(c = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ name: c.name ?? 'alice', sid: c.sid ?? 'session-1' })
        .setProtectedHeader({ alg: 'EdDSA', kid })
        .setSubject(c.sub ?? 'user-1')
        .setIssuer(c.iss ?? ISSUER)
        .setAudience(c.aud ?? AUDIENCE)
        .setIssuedAt(c.iat ?? now)
        .setExpirationTime(now + (c.expSec ?? 600))
        .sign(privateKey);
    },
    verifier() {
      return new TokenVerifier({ issuer: ISSUER, audience: AUDIENCE, fetchJwks: async () => jwks, cooldownMs: 0 });
    },
  };
}

/** An unsigned token (`alg: none`) with valid-looking claims. */
export function unsignedToken(kid: string, sub = 'user-1'): string {
  const now = Math.floor(Date.now() / 1000);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', kid, typ: 'JWT' })}.${enc({ sub, name: 'mallory', sid: 's', iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 600 })}.`;
}

/** The same token with its payload changed (signature kept). */
export function tamperedToken(token: string, changes: Record<string, unknown>): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const payload = { ...JSON.parse(Buffer.from(p, 'base64url').toString('utf8')), ...changes };
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

/** A logger whose JSON lines are kept for assertions. */
export function captureLogs(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: createLogger({ level, destination: sink }), lines };
}

export interface RunningProcess {
  port: number;
  url: string;
  child: ChildProcess;
  readonly output: string;
  /** SIGKILL (a crash) or SIGTERM; resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `node <script>` with PORT and `env`, and waits until something answers on `readyPath`. */
export async function startNodeProcess(
  script: string,
  env: Record<string, string>,
  opts: { port?: number; readyPath?: string; timeoutMs?: number } = {},
): Promise<RunningProcess> {
  const port = opts.port ?? (await getFreePort());
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => { exited = true; resolve(); }));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      `${script} on port ${port}`,
      async () => {
        if (exited) throw new Error(`exited early: ${output.slice(-2000)}`);
        const res = await fetch(`${url}${opts.readyPath ?? '/healthz'}`);
        await res.arrayBuffer();
        return res.status < 500;
      },
      { timeoutMs: opts.timeoutMs ?? 30_000, intervalMs: 50 },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output.slice(-3000)}`);
  }
  return {
    port,
    url,
    child,
    get output() {
      return output;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (exited) return;
      child.kill(signal);
      await exit;
    },
  };
}

export const FIXTURE = fileURLToPath(new URL('../fixtures/upstream.mjs', import.meta.url));

export async function startFixture(jwks: JSONWebKeySet, port?: number): Promise<RunningProcess> {
  return startNodeProcess(FIXTURE, { JWKS: JSON.stringify(jwks) }, { readyPath: '/__stats', ...(port ? { port } : {}) });
}

export async function fixtureStats(url: string): Promise<{ requests: number; byRoute: Record<string, number>; inflight: number; aborted: number; completed: number; last: any }> {
  return (await (await fetch(`${url}/__stats`)).json()) as never;
}

export async function fixtureControl(url: string, control: Record<string, number>): Promise<void> {
  await (await fetch(`${url}/__control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(control) })).arrayBuffer();
}

/** One HTTP request with the answer's JSON (or text) and the time it took. */
export async function call(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: any; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) } : {}),
  });
  const text = await res.text();
  const ms = performance.now() - t0;
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: res.status, headers: res.headers, body, ms };
}

/** The value of a Prometheus sample in `/metrics` text, or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}
