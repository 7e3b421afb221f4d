// `npm run keys:rotate`: makes a new access-token signing key the active one. The previous key stays in the JWKS
// for one access-token lifetime (plus a minute), so tokens it signed keep verifying until they expire; instances
// pick the new key up within their key cache time (10 s). With the embedded database, stop Kinora first. Keys read
// from JWT_KEYS_DIR (a Secret) are rotated by changing the files instead: this command refuses.
import { loadConfigOrExit } from '@kinora/config';
import { openDatabase } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createUserModule } from './app.js';

const config = loadConfigOrExit();
if (config.jwtKeysDir) {
  process.stderr.write(
    `The signing keys come from JWT_KEYS_DIR (${config.jwtKeysDir}): rotate them by changing its files (see docs/deploy.md, "Signing keys").\n`,
  );
  process.exit(1);
}
const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'keys' });
const db = await openDatabase(config, logger, 'kinora-keys', 'users');
try {
  const mod = await createUserModule({ database: db.database, config, logger });
  const kid = await mod.tokens.rotate();
  const published = (await mod.jwks()).keys.map((k) => k.kid);
  process.stdout.write(`new signing key ${kid}; published keys: ${published.join(', ')}\n`);
} finally {
  await db.close();
}
