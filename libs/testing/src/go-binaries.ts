import { execFile } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HarnessError, pidAlive, runCommand } from './internal/process.js';
import { findExecutable } from './internal/system.js';
import { sleep } from './internal/wait.js';
import { cacheDir } from './internal/workspace.js';

const execFileAsync = promisify(execFile);

/**
 * Pinned versions of the Go tools the harness builds from the Go module proxy. The apiserver, the controller
 * manager and kubectl come from one `k8s.io/kubernetes` build so that their versions match.
 */
export const KUBERNETES_VERSION = 'v1.34.2';
export const ETCD_VERSION = 'v3.6.16';
export const HELM_VERSION = 'v4.3.2';
export const PROMETHEUS_VERSION = 'v0.316.0';
export const TILT_VERSION = 'v0.34.0';

/** `v1.34.2` → `v0.34.2`: the version of the staging modules (k8s.io/api, client-go, …) of a Kubernetes release. */
export function stagingVersion(kubernetesVersion: string): string {
  const match = /^v1\.(\d+)\.(\d+)$/.exec(kubernetesVersion);
  if (!match) throw new HarnessError(`not a Kubernetes release version: ${kubernetesVersion} (expected v1.<minor>.<patch>)`);
  return `v0.${match[1]}.${match[2]}`;
}

/** `v0.316.0` → `3.16.0`: Prometheus tags its Go module v0.<major><minor>.<patch>. */
function prometheusRelease(moduleVersion: string): string {
  const match = /^v0\.(\d)(\d+)\.(\d+)$/.exec(moduleVersion);
  return match ? `${match[1]}.${Number(match[2])}.${match[3]}` : moduleVersion;
}

/** One Go binary built from a package of a module at a pinned version. */
interface GoBinarySpec {
  /** Binary file name. */
  name: string;
  /** Main package to build. */
  pkg: string;
  /** Extra `-ldflags` (version stamping); `-s -w` is always added. */
  ldflags: string[];
  /** Human-readable duration of a first build, for the progress line. */
  coldEstimate: string;
}

/** A generated wrapper module: requires `module@version` and builds the given binaries into `<dir>/bin`. */
interface GoToolchainSpec {
  /** Folder under `<cache>/k8s/`: binaries in `bin/`, the generated module in `src/<wrapper>/`. */
  folder: string;
  /** Name of the generated wrapper module. */
  wrapper: string;
  module: string;
  version: string;
  /**
   * Rewrites a `replace` line of the module's own go.mod for the wrapper (which cannot see the module's local
   * folders); `undefined` drops it. Default: copy versioned replaces, fail on local ones.
   */
  replace?: (from: string, to: string) => string | undefined;
  binaries: GoBinarySpec[];
  /** Build with cgo (a C compiler on PATH); default: static binaries without it. */
  cgo?: boolean;
}

function kubernetesLdflags(version: string): string[] {
  const [, major, minor] = /^v(\d+)\.(\d+)\./.exec(version) ?? [];
  const pkg = 'k8s.io/component-base/version';
  // Without these, `--version` says v0.0.0-master+$Format:%H$ and kubectl cannot parse the server version.
  return [
    `-X ${pkg}.gitVersion=${version}`,
    `-X ${pkg}.gitMajor=${major}`,
    `-X ${pkg}.gitMinor=${minor}`,
    `-X ${pkg}.gitTreeState=clean`,
    `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
  ];
}

function kubernetesSpec(version = KUBERNETES_VERSION): GoToolchainSpec {
  const staging = stagingVersion(version);
  const ldflags = kubernetesLdflags(version);
  return {
    folder: version,
    wrapper: 'kubernetes',
    module: 'k8s.io/kubernetes',
    version,
    // Upstream points every staging module at ./staging/src/<module>; the wrapper takes them from the proxy.
    replace: (from, to) => (to.startsWith('./staging/') ? `${from} => ${from} ${staging}` : `${from} => ${to}`),
    binaries: [
      { name: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', ldflags, coldEstimate: '~5 min' },
      { name: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager', ldflags, coldEstimate: '~2 min' },
      { name: 'kubectl', pkg: 'k8s.io/kubernetes/cmd/kubectl', ldflags, coldEstimate: '~1 min' },
    ],
  };
}

function etcdSpec(kubernetesVersion = KUBERNETES_VERSION): GoToolchainSpec {
  return {
    // Next to the Kubernetes binaries it serves: one bin/ folder for the control plane.
    folder: kubernetesVersion,
    wrapper: 'etcd',
    module: 'go.etcd.io/etcd/server/v3',
    version: ETCD_VERSION,
    // Upstream points its sibling modules (api, client/pkg, client/v3, pkg) at ../<folder>: all are released with
    // the same tag, so the wrapper pins each to it. `=> ./FORBIDDEN_DEPENDENCY` only guards upstream's own tree.
    replace: (from, to) => (to.startsWith('../') ? `${from} => ${from} ${ETCD_VERSION}` : to.startsWith('./') ? undefined : `${from} => ${to}`),
    binaries: [{ name: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', ldflags: [], coldEstimate: '~1 min' }],
  };
}

const helmSpec: GoToolchainSpec = {
  folder: `helm-${HELM_VERSION}`,
  wrapper: 'helm',
  module: 'helm.sh/helm/v4',
  version: HELM_VERSION,
  binaries: [
    {
      name: 'helm',
      pkg: 'helm.sh/helm/v4/cmd/helm',
      ldflags: [`-X helm.sh/helm/v4/internal/version.version=${HELM_VERSION}`, '-X helm.sh/helm/v4/internal/version.gitTreeState=clean'],
      coldEstimate: '~4 min',
    },
  ],
};

const promtoolSpec: GoToolchainSpec = {
  folder: `prometheus-${PROMETHEUS_VERSION}`,
  wrapper: 'promtool',
  module: 'github.com/prometheus/prometheus',
  version: PROMETHEUS_VERSION,
  binaries: [
    {
      name: 'promtool',
      pkg: 'github.com/prometheus/prometheus/cmd/promtool',
      ldflags: [`-X github.com/prometheus/common/version.Version=${prometheusRelease(PROMETHEUS_VERSION)}`],
      coldEstimate: '~6 min',
    },
  ],
};

const tiltSpec: GoToolchainSpec = {
  folder: `tilt-${TILT_VERSION}`,
  wrapper: 'tilt',
  module: 'github.com/tilt-dev/tilt',
  version: TILT_VERSION,
  // Tilt parses Tiltfiles' neighbours with tree-sitter, a C library.
  cgo: true,
  binaries: [
    {
      name: 'tilt',
      pkg: 'github.com/tilt-dev/tilt/cmd/tilt',
      ldflags: [`-X main.version=${TILT_VERSION.slice(1)}`],
      coldEstimate: '~7 min',
    },
  ],
};

/** `go.mod` of a wrapper module, derived from the wrapped module's own go.mod (its `go` line and `replace`s). */
export function wrapperGoMod(spec: Pick<GoToolchainSpec, 'module' | 'version' | 'replace'>, upstreamGoMod: string, wrapperName: string): string {
  const goLine = /^go\s+(\S+)/m.exec(upstreamGoMod)?.[1] ?? '1.24';
  const replaces: string[] = [];
  const lines: string[] = [];
  const block = /^replace\s*\(([\s\S]*?)^\)/gm;
  for (let m = block.exec(upstreamGoMod); m; m = block.exec(upstreamGoMod)) lines.push(...m[1]!.split('\n'));
  for (const m of upstreamGoMod.matchAll(/^replace\s+([^(\s].*)$/gm)) lines.push(m[1]!);
  for (const raw of lines) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (!line.includes('=>')) continue;
    const [from, to] = line.split('=>').map((s) => s.trim()) as [string, string];
    const mapped = spec.replace
      ? spec.replace(from, to)
      : /^\.{0,2}\//.test(to)
        ? (() => {
            throw new HarnessError(`${spec.module}@${spec.version}: go.mod replaces ${from} with a local folder (${to}); the wrapper needs a rule for it`);
          })()
        : `${from} => ${to}`;
    if (mapped) replaces.push(`\t${mapped}`);
  }
  return [
    `// Generated by @kinora/testing: builds commands of ${spec.module} ${spec.version}. Do not edit.`,
    `module kinora-testing/${wrapperName}`,
    '',
    `go ${goLine}`,
    '',
    `require ${spec.module} ${spec.version}`,
    ...(replaces.length > 0 ? ['', 'replace (', ...replaces, ')'] : []),
    '',
  ].join('\n');
}

/**
 * An exclusive lock file (`open(…, 'wx')` holding our pid). A lock whose holder is gone (killed build) is
 * taken over; otherwise we wait, saying once who holds it.
 */
async function withLock<T>(lockFile: string, what: string, fn: () => Promise<T>, timeoutMs = 45 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lockFile, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (fd !== undefined) {
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      try {
        return await fn();
      } finally {
        rmSync(lockFile, { force: true });
      }
    }
    let holder: number;
    try {
      holder = Number.parseInt(readFileSync(lockFile, 'utf8') || '0', 10);
    } catch {
      continue; // released between our open and our read
    }
    if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
      rmSync(lockFile, { force: true }); // left by a killed build
      continue;
    }
    if (Date.now() > deadline) throw new HarnessError(`${what}: ${lockFile} is still held by pid ${holder} after ${timeoutMs / 60_000} min`);
    if (!told) {
      process.stderr.write(`[@kinora/testing] ${what}: waiting for pid ${holder}, which holds the build lock ${lockFile}\n`);
      told = true;
    }
    await sleep(1_000);
  }
}

function goExecutable(): string {
  const go = findExecutable('go');
  if (!go) {
    throw new HarnessError(
      'the Kubernetes test tools (etcd, kube-apiserver, kubectl, helm, promtool) are built with Go, and `go` is not on PATH: install Go 1.26 or later',
    );
  }
  return go;
}

/** The environment of every `go` command: static binaries, the local toolchain only, module graph updates allowed. */
function goEnv(cgo = false): NodeJS.ProcessEnv {
  // GOTOOLCHAIN=local: a module that asks for a newer Go fails with a clear "requires go >= …" instead of
  // downloading another toolchain behind the user's back.
  return { ...process.env, CGO_ENABLED: cgo ? '1' : '0', GOFLAGS: '-mod=mod -buildvcs=false', GOTOOLCHAIN: 'local' };
}

/** The go.mod of `module@version` from the module cache (`go mod download -json`, fetched when missing). */
async function upstreamGoMod(go: string, module: string, version: string, cwd: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(go, ['mod', 'download', '-json', `${module}@${version}`], { cwd, env: goEnv(), maxBuffer: 1 << 20 }));
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const detail = (e.stdout && /"Error":\s*"([^"]*)"/.exec(e.stdout)?.[1]) ?? e.stderr ?? e.message;
    throw new HarnessError(`go mod download ${module}@${version} failed: ${detail}`);
  }
  const info = JSON.parse(stdout) as { GoMod?: string; Error?: string };
  if (info.Error || !info.GoMod) throw new HarnessError(`go mod download ${module}@${version}: ${info.Error ?? 'no GoMod in its answer'}`);
  return readFileSync(info.GoMod, 'utf8');
}

/** Builds the missing binaries of `spec` (under a lock) and returns the absolute path of `name`. */
async function ensureGoBinary(spec: GoToolchainSpec, name: string): Promise<string> {
  const base = cacheDir(join('k8s', spec.folder));
  const binDir = join(base, 'bin');
  const binary = join(binDir, name);
  if (existsSync(binary)) return binary;
  const go = goExecutable();
  if (spec.cgo && !findExecutable('gcc') && !findExecutable('cc')) {
    throw new HarnessError(`${name} ${spec.version} is built with cgo and no C compiler is on PATH: install gcc (Debian: build-essential)`);
  }
  mkdirSync(binDir, { recursive: true });
  return withLock(join(base, 'build.lock'), `${spec.module} ${spec.version}`, async () => {
    if (existsSync(binary)) return binary; // built by the process we waited for
    const src = join(base, 'src', spec.wrapper);
    const logFile = join(base, 'build.log');
    mkdirSync(src, { recursive: true });
    const goMod = wrapperGoMod(spec, await upstreamGoMod(go, spec.module, spec.version, src), spec.wrapper);
    if (!existsSync(join(src, 'go.mod')) || readFileSync(join(src, 'go.mod'), 'utf8') !== goMod) {
      writeFileSync(join(src, 'go.mod'), goMod);
      rmSync(join(src, 'go.sum'), { force: true });
    }
    const target = spec.binaries.find((b) => b.name === name);
    if (!target) throw new HarnessError(`${spec.module} builds no binary named ${name}`);
    const started = Date.now();
    process.stderr.write(`[@kinora/testing] building ${name} ${spec.version} (first run only, ${target.coldEstimate})…\n`);
    const tmp = join(binDir, `.${name}.${process.pid}.tmp`);
    await runCommand({
      name: `go build ${target.pkg}@${spec.version}`,
      command: go,
      args: ['build', '-trimpath', '-ldflags', ['-s', '-w', ...target.ldflags].join(' '), '-o', tmp, target.pkg],
      logFile,
      cwd: src,
      env: goEnv(spec.cgo),
      timeoutMs: 40 * 60_000,
    });
    renameSync(tmp, binary);
    process.stderr.write(`[@kinora/testing] built ${binary} in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
    return binary;
  });
}

/** Paths of the control-plane binaries, each built on first use into `<cache>/k8s/<version>/`. */
export interface KubernetesBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
}

/** Builds (first run only) and returns etcd, kube-apiserver, kube-controller-manager and kubectl. */
export async function ensureKubernetesBinaries(options: { controllerManager?: boolean } = {}): Promise<KubernetesBinaries> {
  const k8s = kubernetesSpec();
  // One at a time: two `go build`s of this size side by side only fight for the 2 cores and the memory.
  const etcd = await ensureGoBinary(etcdSpec(), 'etcd');
  const kubeApiserver = await ensureGoBinary(k8s, 'kube-apiserver');
  const kubectl = await ensureGoBinary(k8s, 'kubectl');
  const kubeControllerManager = options.controllerManager === false ? '' : await ensureGoBinary(k8s, 'kube-controller-manager');
  return { etcd, kubeApiserver, kubeControllerManager, kubectl };
}

/** kubectl of the same Kubernetes version as the test apiserver (built from the same module graph). */
export function ensureKubectl(): Promise<string> {
  return ensureGoBinary(kubernetesSpec(), 'kubectl');
}

/** helm v4, pinned ({@link HELM_VERSION}). */
export function ensureHelm(): Promise<string> {
  return ensureGoBinary(helmSpec, 'helm');
}

/** promtool of Prometheus, pinned ({@link PROMETHEUS_VERSION}). */
export function ensurePromtool(): Promise<string> {
  return ensureGoBinary(promtoolSpec, 'promtool');
}

/** tilt, pinned ({@link TILT_VERSION}): the Tiltfile's tests evaluate it with `tilt alpha tiltfile-result`. */
export function ensureTilt(): Promise<string> {
  return ensureGoBinary(tiltSpec, 'tilt');
}

/** For tests of the lock: runs `fn` while holding the build lock file `lockFile`. */
export const withBuildLock = withLock;
