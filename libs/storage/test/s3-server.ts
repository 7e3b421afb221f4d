// A real S3-compatible server for the S3 adapter's tests: SeaweedFS (`weed server -s3`) on loopback ports in a
// temporary directory. `weed` is built from the Go module proxy the first time (about 10 minutes on 2 cores from
// cold caches, seconds once Go's build cache is warm) and cached as .cache/bin/weed-<version> in the repository.
// TEST_S3_URL (an s3:// URL as STORAGE_URL takes it, bucket included) points the tests at an existing server instead.
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SEAWEEDFS_MODULE = 'github.com/seaweedfs/seaweedfs';
/** Pinned: the proxy serves SeaweedFS only as pseudo-versions (its tags are not semver). Reports itself as 4.53. */
export const SEAWEEDFS_VERSION = 'v0.0.0-20261109003541-7506e5f91cd6';
const BUCKET = 'kinora-test';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const binDir = join(repoRoot, '.cache', 'bin');
const weedBin = join(binDir, `weed-${SEAWEEDFS_VERSION}`);

export interface S3TestServer {
  /** STORAGE_URL-style URL of the test bucket. */
  url: string;
  stop(): Promise<void>;
}

export type S3TestServerResult = S3TestServer | { skipped: string };

function log(message: string): void {
  process.stderr.write(`[s3-test-server] ${message}\n`);
}

/** Builds weed unless cached. Returns its path, or a reason to skip when Go is not installed. */
export function ensureWeed(): string | { skipped: string } {
  if (existsSync(weedBin)) return weedBin;
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    return { skipped: 'Go is not installed, so SeaweedFS cannot be built; set TEST_S3_URL to test the S3 adapter' };
  }
  mkdirSync(binDir, { recursive: true });
  // `go install module/weed@version` refuses modules with replace directives, so download the module and build
  // it as the main module. flock: parallel test runs build once.
  const script = [
    'set -e',
    `test -x "${weedBin}" && exit 0`,
    `dir=$(go mod download -json ${SEAWEEDFS_MODULE}@${SEAWEEDFS_VERSION} | sed -n 's/^\\s*"Dir": "\\(.*\\)",$/\\1/p')`,
    'test -n "$dir"',
    `cd "$dir" && go build -trimpath -ldflags '-s -w' -o "${weedBin}.partial" ./weed`,
  ].join('\n');
  log(`building SeaweedFS ${SEAWEEDFS_VERSION} (first run only; up to ~10 minutes)`);
  const started = Date.now();
  const result = spawnSync('flock', [join(binDir, '.weed-build.lock'), 'sh', '-c', script], {
    encoding: 'utf8',
    timeout: 25 * 60 * 1000,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  if (result.status !== 0) {
    throw new Error(`building SeaweedFS failed (exit ${result.status}): ${(result.stderr ?? '').split('\n').slice(-15).join('\n')}`);
  }
  if (!existsSync(weedBin)) renameSync(`${weedBin}.partial`, weedBin);
  log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  return weedBin;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Why the S3 tests cannot run here, or null when they can (decided synchronously, at collection time). */
export function s3SkipReason(): string | null {
  if (process.env['TEST_S3_URL'] || existsSync(weedBin)) return null;
  if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
    return 'Go is not installed, so SeaweedFS cannot be built; set TEST_S3_URL to test the S3 adapter';
  }
  return null;
}

export async function startS3TestServer(): Promise<S3TestServerResult> {
  const external = process.env['TEST_S3_URL'];
  if (external) return { url: external, stop: async () => {} };

  const weed = ensureWeed();
  if (typeof weed !== 'string') return weed;

  const dataDir = await mkdtemp(join(tmpdir(), 'kinora-weed-'));
  const [master, masterGrpc, volume, volumeGrpc, filer, filerGrpc, s3, s3Grpc] = await Promise.all(
    Array.from({ length: 8 }, () => freePort()),
  );
  const args = [
    'server',
    `-dir=${dataDir}`,
    // Loopback only (the default -ip is not a loopback address).
    '-ip=127.0.0.1',
    '-ip.bind=127.0.0.1',
    `-master.port=${master}`,
    `-master.port.grpc=${masterGrpc}`,
    '-master.volumeSizeLimitMB=64',
    `-volume.port=${volume}`,
    `-volume.port.grpc=${volumeGrpc}`,
    '-volume.max=16',
    '-filer',
    `-filer.port=${filer}`,
    `-filer.port.grpc=${filerGrpc}`,
    `-filer.localSocket=${join(dataDir, 'filer.sock')}`,
    '-s3',
    `-s3.port=${s3}`,
    `-s3.port.grpc=${s3Grpc}`,
    `-s3.localSocket=${join(dataDir, 's3.sock')}`,
    '-s3.port.iceberg=0',
    '-s3.port.lance=0',
  ];
  // TMPDIR: weed puts its gRPC unix sockets and glog files in the temp directory; keep them in dataDir.
  const child: ChildProcess = spawn(weed, args, {
    cwd: dataDir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TMPDIR: dataDir },
  });
  const stderrTail: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail.push(...chunk.split('\n'));
    stderrTail.splice(0, Math.max(0, stderrTail.length - 30));
  });
  let exited = false;
  child.on('exit', () => (exited = true));

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      // weed's graceful shutdown can hang; it holds no data we need.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          if (!exited) child.kill('SIGKILL');
        }, 2000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        if (exited) resolve();
      });
    }
    await rm(dataDir, { recursive: true, force: true });
    // weed hard-codes /tmp for the gRPC sockets of `weed server`.
    const sockets = { master: masterGrpc, volume: volumeGrpc, filer: filerGrpc, s3: s3Grpc };
    for (const [name, port] of Object.entries(sockets)) await rm(`/tmp/seaweedfs-${name}-grpc-${port}.sock`, { force: true });
  };

  const endpoint = `http://127.0.0.1:${s3}`;
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'kinora', secretAccessKey: 'kinora-secret' },
  });
  const deadline = Date.now() + 90_000;
  try {
    // Ready when a bucket can be created and written to (volumes are allocated a moment after the S3 port opens).
    let bucketReady = false;
    for (;;) {
      if (exited) throw new Error(`weed exited during start-up:\n${stderrTail.join('\n')}`);
      try {
        if (!bucketReady) {
          await client.send(new CreateBucketCommand({ Bucket: BUCKET })).catch((error: Error) => {
            if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
          });
          bucketReady = true;
        }
        await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'readiness-probe', Body: 'ok' }));
        await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'readiness-probe' }));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`SeaweedFS did not become ready: ${String(error)}\n${stderrTail.join('\n')}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return {
    url: `s3://kinora:kinora-secret@${BUCKET}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&forcePathStyle=true`,
    stop,
  };
}
