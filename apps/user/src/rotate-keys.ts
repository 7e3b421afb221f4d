// `npm run keys:rotate`: rotates in a new access-token signing key. It is published in the JWKS at once and signs
// from 11 minutes on (verifiers refresh their JWKS at least every 10 minutes, so none meets it unknown); the key it
// replaces signs until then and stays published one access-token lifetime (plus a minute) longer, so the tokens it
// signed keep verifying until they expire. `--now`: the new key signs at once (a key that must stop signing now;
// verifiers that fetched the JWKS in the last 30 s reject the new tokens until they fetch it again). Instances pick
// the change up within their key cache time (10 s). With the embedded database, stop Kinora first. Keys read from
// JWT_KEYS_DIR (a Secret) are rotated by changing the files instead: this command refuses.
import { loadConfigOrExit } from '@kinora/config';
import { openDatabase } from '@kinora/db';
import { createLogger } from '@kinora/observability';
import { createUserModule } from './app.js';

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--now');
if (unknown.length > 0) {
  process.stderr.write(`Unknown argument ${unknown[0]}: the only option is --now (the new key signs at once).\n`);
  process.exit(2);
}
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
  const { kid, activeFrom } = await mod.tokens.rotate({ now: args.includes('--now') });
  const published = (await mod.jwks()).keys.map((k) => k.kid);
  process.stdout.write(`new signing key ${kid}, published now, signs from ${activeFrom.toISOString()}; published keys: ${published.join(', ')}\n`);
} finally {
  await db.close();
}
