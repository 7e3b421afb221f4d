// One HTTP server for the gateway benchmark, in its own process: `node server.mjs bare|gateway`.
// Prints one JSON line {port, token?} once it listens. Imports the built workspace packages (dist/).
import Fastify from 'fastify';

const mode = process.argv[2];
const port = Number(process.env.PORT ?? 0);

async function bare() {
  const app = Fastify({ logger: false });
  app.get('/hello', async () => ({ hello: 'world' }));
  await app.listen({ port, host: '127.0.0.1' });
  return { port: app.server.address().port };
}

// The embedded gateway chain in front of one authenticated GET: base app (request ids, problems, metrics
// histogram, logs at LOG_LEVEL), CORS, JWT verification (jose, Ed25519, verified-token cache), rate limit in Redis
// (a budget that is never reached), and the user upstream's policy (bulkhead, circuit breaker, timeout).
async function gateway() {
  const [{ generateKeyPair, exportJWK, SignJWT }, { loadConfig }, { ACCESS_TOKEN_AUDIENCE, TokenVerifier }, { createBaseApp, createLogger }, { gatewayPlugin }] = await Promise.all([
    import('jose'),
    import('@kinora/config'),
    import('@kinora/auth'),
    import('@kinora/observability'),
    import('@kinora/gateway'),
  ]);
  const issuer = 'http://bench.kinora.test';
  const audience = ACCESS_TOKEN_AUDIENCE;
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'EdDSA', use: 'sig' };
  const config = loadConfig({
    PUBLIC_URL: issuer,
    REDIS_URL: process.env.REDIS_URL,
    RATE_LIMIT_GENERAL: process.env.BENCH_RATE_LIMIT ?? '1000000000/1h',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  });
  const app = await createBaseApp({ logger: createLogger({ level: config.logLevel, name: 'bench' }), bodyLimitBytes: config.bodyLimitBytes });
  const verifier = new TokenVerifier({ issuer, audience, fetchJwks: async () => ({ keys: [jwk] }), cooldownMs: 0 });
  await app.register(gatewayPlugin, {
    config,
    verifier,
    rateLimitKeyPrefix: `kinora:bench:${process.pid}:`,
    ...(process.env.BENCH_TOKEN_CACHE === 'off' ? { tokenCache: { maxEntries: 1, maxAgeMs: 0.001 } } : {}),
  });
  await app.register(async (svc) => {
    svc.get('/api/v1/users/me', { preHandler: svc.requireUser }, async (request) => ({ hello: 'world', id: request.principal.userId }));
  });
  await app.listen({ port, host: '127.0.0.1' });
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ name: 'bench', sid: 'bench-session' })
    .setProtectedHeader({ alg: 'EdDSA', kid: 'bench' })
    .setSubject('01900000-0000-7000-8000-000000000001')
    .setIssuer(issuer)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(privateKey);
  return { port: app.server.address().port, token };
}

// The base app alone (what every Kinora process is, gateway or not), for splitting the cost in the report.
async function base() {
  const [{ createBaseApp, createLogger }] = await Promise.all([import('@kinora/observability')]);
  const app = await createBaseApp({ logger: createLogger({ level: process.env.LOG_LEVEL ?? 'warn', name: 'bench' }), bodyLimitBytes: 1 << 20 });
  app.get('/hello', async () => ({ hello: 'world' }));
  await app.listen({ port, host: '127.0.0.1' });
  return { port: app.server.address().port };
}

const info = mode === 'bare' ? await bare() : mode === 'gateway' ? await gateway() : mode === 'base' ? await base() : null;
if (!info) {
  process.stderr.write('usage: server.mjs bare|base|gateway\n');
  process.exit(2);
}
process.stdout.write(`${JSON.stringify(info)}\n`);
process.on('SIGTERM', () => process.exit(0));
// The runner asks for the CPU time used so far (user + system, µs) to report the cost per request.
process.on('SIGUSR2', () => {
  const { user, system } = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpuUs: user + system })}\n`);
});
