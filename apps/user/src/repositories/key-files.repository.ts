import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JSONWebKeySet, type JWK } from 'jose';

/** The file whose key signs; every other `*.pem` of the folder is only published (verification during rotation). */
export const ACTIVE_KEY_FILE = 'active.pem';

/** A key file that cannot be used; the message names the file. */
export class KeyFileError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`JWT key file ${file}: ${reason}`);
    this.name = 'KeyFileError';
  }
}

export interface FileKey {
  /** RFC 7638 thumbprint (SHA-256) of the public key. */
  kid: string;
  alg: 'EdDSA' | 'ES256';
  publicJwk: JWK;
  /** Undefined for a published-only key given as a public key. */
  privateKey: KeyObject | undefined;
  file: string;
}

export interface KeySet {
  signer: { kid: string; alg: 'EdDSA' | 'ES256'; key: KeyObject };
  jwks: JSONWebKeySet;
}

/**
 * Reads one PEM key: a private key (PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY` as Helm's `genPrivateKey "ecdsa"`
 * writes it) or, for a published-only key, a public one (`PUBLIC KEY`). Ed25519 signs EdDSA, EC P-256 signs ES256
 * (the two algorithms the verifiers accept); anything else is refused.
 */
export async function readKeyFile(file: string): Promise<FileKey> {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    throw new KeyFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let key: KeyObject;
  let privateKey: KeyObject | undefined;
  if (/-----BEGIN (ENCRYPTED )?PRIVATE KEY-----|-----BEGIN [A-Z]+ PRIVATE KEY-----/.test(pem)) {
    if (pem.includes('ENCRYPTED')) throw new KeyFileError(file, 'an encrypted private key (give it unencrypted; the Secret protects it)');
    try {
      privateKey = createPrivateKey({ key: pem, format: 'pem' });
    } catch (err) {
      throw new KeyFileError(file, `not a readable PEM private key (${(err as Error).message})`);
    }
    key = createPublicKey(privateKey);
  } else if (pem.includes('-----BEGIN PUBLIC KEY-----')) {
    try {
      key = createPublicKey({ key: pem, format: 'pem' });
    } catch (err) {
      throw new KeyFileError(file, `not a readable PEM public key (${(err as Error).message})`);
    }
  } else {
    throw new KeyFileError(file, 'not a PEM key (expected "-----BEGIN PRIVATE KEY-----", "-----BEGIN EC PRIVATE KEY-----" or "-----BEGIN PUBLIC KEY-----")');
  }
  let alg: FileKey['alg'];
  if (key.asymmetricKeyType === 'ed25519') alg = 'EdDSA';
  else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') alg = 'ES256';
  else {
    const type = key.asymmetricKeyType === 'ec' ? `EC ${key.asymmetricKeyDetails?.namedCurve ?? '?'}` : (key.asymmetricKeyType ?? 'unknown');
    throw new KeyFileError(file, `unsupported key type ${type} (supported: Ed25519, EC P-256)`);
  }
  const jwk = key.export({ format: 'jwk' }) as JWK;
  const publicJwk: JWK = alg === 'EdDSA' ? { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x! } : { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
  return { kid: await calculateJwkThumbprint(publicJwk, 'sha256'), alg, publicJwk, privateKey, file };
}

/**
 * Reads a key folder (a mounted Kubernetes Secret): `active.pem` must hold a private key; every `*.pem` is
 * published. Hidden entries (the Secret volume's `..data` and its timestamped folders) are skipped.
 */
export async function readKeyDir(dir: string): Promise<KeySet> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new KeyFileError(dir, `the folder JWT_KEYS_DIR cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const files = names.filter((n) => !n.startsWith('.') && n.endsWith('.pem')).sort();
  if (!files.includes(ACTIVE_KEY_FILE)) {
    throw new KeyFileError(join(dir, ACTIVE_KEY_FILE), `missing: JWT_KEYS_DIR must hold the signing key as ${ACTIVE_KEY_FILE}${files.length ? ` (found ${files.join(', ')})` : ''}`);
  }
  const keys = await Promise.all(files.map((n) => readKeyFile(join(dir, n))));
  const active = keys[files.indexOf(ACTIVE_KEY_FILE)]!;
  if (!active.privateKey) throw new KeyFileError(active.file, 'a public key: the active key must be a private key');
  const seen = new Set<string>();
  const published: JWK[] = [];
  // The signer first: a JWKS reader that takes the first match finds it at once.
  for (const k of [active, ...keys.filter((k) => k !== active)]) {
    if (seen.has(k.kid)) continue;
    seen.add(k.kid);
    published.push({ ...k.publicJwk, kid: k.kid, alg: k.alg, use: 'sig' });
  }
  return { signer: { kid: active.kid, alg: active.alg, key: active.privateKey }, jwks: { keys: published } };
}

/**
 * What changes when a mounted Secret is updated: the kubelet writes a new timestamped folder and swaps the `..data`
 * symlink, so the files' identities (device, inode), sizes and times change. Editing files in place changes them too.
 */
export function keyDirFingerprint(dir: string): string {
  const parts: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') && name !== '..data') continue;
    try {
      const s = statSync(join(dir, name));
      parts.push(`${name}:${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push(`${name}:gone`);
    }
  }
  return parts.join('|');
}

export interface KeyDirLog {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * The signing keys of a key folder, read at start (a bad folder fails the start, naming the file) and read again
 * when its fingerprint changes (checked every `pollMs`). A change that cannot be read keeps the keys in use and is
 * logged, once per change.
 */
export class KeyDirectory {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  private constructor(
    readonly dir: string,
    private keys: KeySet,
    private fingerprint: string,
    private readonly log: KeyDirLog | undefined,
  ) {}

  static async open(dir: string, opts: { pollMs?: number; log?: KeyDirLog } = {}): Promise<KeyDirectory> {
    const fingerprint = (() => {
      try {
        return keyDirFingerprint(dir);
      } catch {
        return '';
      }
    })();
    const keys = await readKeyDir(dir);
    const kd = new KeyDirectory(dir, keys, fingerprint, opts.log);
    const pollMs = opts.pollMs ?? 10_000;
    if (pollMs > 0) {
      kd.timer = setInterval(() => void kd.check(), pollMs);
      kd.timer.unref();
    }
    return kd;
  }

  current(): KeySet {
    return this.keys;
  }

  /** Reads the folder again if it changed since the last look. Resolves true when new keys are in use. */
  async check(): Promise<boolean> {
    if (this.checking) return false;
    this.checking = true;
    try {
      let fingerprint: string;
      try {
        fingerprint = keyDirFingerprint(this.dir);
      } catch (err) {
        fingerprint = `unreadable:${(err as Error).message}`;
      }
      if (fingerprint === this.fingerprint) return false;
      this.fingerprint = fingerprint;
      try {
        const keys = await readKeyDir(this.dir);
        const before = this.keys;
        this.keys = keys;
        this.log?.info(
          { dir: this.dir, signer: keys.signer.kid, previousSigner: before.signer.kid, published: keys.jwks.keys.map((k) => k.kid) },
          'JWT signing keys reloaded',
        );
        return true;
      } catch (err) {
        this.log?.error({ dir: this.dir, err: (err as Error).message }, 'JWT signing keys changed but cannot be read: still signing with the previous keys');
        return false;
      }
    } finally {
      this.checking = false;
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
