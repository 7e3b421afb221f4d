// A network namespace joined to the host by a veth pair, with a TCP relay inside it, so one service-to-service hop
// of the cluster crosses a link that `tc netem` can slow down or make lossy without touching loopback (which every
// other suite on the machine uses). Path of a request: caller → <ns address>:<relayPort> (relay in the namespace)
// → <host address>:<hostPort> (relay in this process) → 127.0.0.1:<target>. netem sits on the namespace's end of
// the link, so it delays (or drops) both the request and the answer once each.
// Where the kernel has no `sch_netem` (some VM kernels, this project's CI machine among them) the same link is used
// with the nearest real mechanisms instead: packet loss by an iptables `statistic` rule on the namespace's end (the
// kernel drops packets, TCP retransmits), and delay by the namespace relay holding each chunk for the delay in both
// directions. The figures name the mechanism that ran.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { getFreePort, waitUntil } from '@kinora/testing';

// The namespace relay. Without a delay it pipes; with one ("delay <ms>" on stdin) each chunk is written <ms> later,
// in order (timers of one delay fire in the order they were set).
const RELAY = `
const net = require('node:net');
const [listenHost, listenPort, toHost, toPort] = process.argv.slice(1);
let delay = 0;
process.stdin.setEncoding('utf8');
let buf = '';
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const m = /^delay (\\d+)$/.exec(line);
    if (m) { delay = Number(m[1]); process.stdout.write('ok ' + delay + '\\n'); }
  }
});
const forward = (from, to) => from.on('data', (chunk) => {
  if (delay === 0) to.write(chunk); else setTimeout(() => to.write(chunk), delay);
});
net.createServer((a) => {
  const b = net.connect({ host: toHost, port: Number(toPort) });
  forward(a, b); forward(b, a);
  const end = () => setTimeout(() => { a.destroy(); b.destroy(); }, delay);
  a.on('error', end).on('end', end); b.on('error', end).on('end', end);
}).listen(Number(listenPort), listenHost, () => process.stdout.write('ready\\n'));
`;

function run(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

export interface NetFaultSupport {
  /** `undefined` when network faults can run here, else why not (the tests are skipped with it). */
  skip: string | undefined;
  /** `netem` (tc netem on the link) or `iptables+relay` (the fallback where the kernel has no sch_netem). */
  mechanism: 'netem' | 'iptables+relay';
  /** Why netem is not used, when it is not. */
  netemMissing?: string;
}

/**
 * What this machine allows, probed once, synchronously, at module load (so a suite can declare its tests skipped):
 * network namespaces and veth pairs are required (root with CAP_NET_ADMIN); `tc netem` is used when the kernel has
 * it, else an iptables `statistic` rule (loss) and the relay's own delay.
 */
export function probeNetFaults(): NetFaultSupport {
  if (process.getuid?.() !== 0) return { skip: 'network namespaces need root (CAP_NET_ADMIN); run the suite as root to include them', mechanism: 'netem' };
  const id = randomBytes(3).toString('hex');
  const ns = `kfprobe${id}`;
  const nsIf = `kpn${id}`;
  const must: string[][] = [
    ['ip', 'netns', 'add', ns],
    ['ip', 'link', 'add', `kph${id}`, 'type', 'veth', 'peer', 'name', nsIf],
    ['ip', 'link', 'set', nsIf, 'netns', ns],
  ];
  try {
    for (const step of must) {
      const r = run(step);
      if (!r.ok) return { skip: `\`${step.join(' ')}\` failed here (${r.out || 'no output'}): network faults need network namespaces and veth pairs`, mechanism: 'netem' };
    }
    const netem = run(['ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', nsIf, 'root', 'netem', 'delay', '1ms']);
    if (netem.ok) return { skip: undefined, mechanism: 'netem' };
    const drop = run(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'OUTPUT', '-o', nsIf, '-m', 'statistic', '--mode', 'random', '--probability', '0.1', '-j', 'DROP']);
    if (!drop.ok) {
      return { skip: `neither tc netem (${netem.out}) nor an iptables statistic rule (${drop.out}) works here`, mechanism: 'netem' };
    }
    return { skip: undefined, mechanism: 'iptables+relay', netemMissing: netem.out || 'tc netem failed' };
  } finally {
    run(['ip', 'link', 'del', `kph${id}`]);
    run(['ip', 'netns', 'del', ns]);
  }
}

export interface NetnsLink {
  /** Where callers connect: `http://<ns address>:<relayPort>`. */
  url: string;
  mechanism: NetFaultSupport['mechanism'];
  /** Adds `ms` to each crossing of the link (both directions); 0 removes it. */
  delay(ms: number): Promise<void>;
  /** Drops `percent` of the packets leaving the namespace; 0 removes it. */
  loss(percent: number): void;
  close(): Promise<void>;
}

/**
 * Builds the namespace, the link and both relays towards `127.0.0.1:<targetPort>` (the target may start later:
 * connections are made per request).
 */
export async function createNetnsLink(targetPort: number, mechanism: NetFaultSupport['mechanism']): Promise<NetnsLink> {
  const id = randomBytes(3).toString('hex');
  const ns = `kfault${id}`;
  const hostIf = `kfh${id}`;
  const nsIf = `kfn${id}`;
  // A /30 in 10.213.0.0/16 picked at random: several runs on one machine do not collide (in practice).
  const block = randomBytes(2).readUInt16BE(0) & 0x3ffc;
  const hostAddr = `10.213.${block >> 8}.${(block & 0xff) + 1}`;
  const nsAddr = `10.213.${block >> 8}.${(block & 0xff) + 2}`;
  const must = (args: string[]): void => {
    const r = run(args);
    if (!r.ok) throw new Error(`\`${args.join(' ')}\` failed: ${r.out}`);
  };
  let relay: ChildProcess | undefined;
  let hostRelay: Server | undefined;
  const sockets = new Set<Socket>();
  const close = async (): Promise<void> => {
    relay?.kill('SIGKILL');
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (hostRelay ? hostRelay.close(() => resolve()) : resolve()));
    run(['ip', 'link', 'del', hostIf]);
    run(['ip', 'netns', 'del', ns]);
  };
  try {
    must(['ip', 'netns', 'add', ns]);
    must(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
    must(['ip', 'link', 'set', nsIf, 'netns', ns]);
    must(['ip', 'addr', 'add', `${hostAddr}/30`, 'dev', hostIf]);
    must(['ip', 'link', 'set', hostIf, 'up']);
    must(['ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf]);
    must(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up']);
    must(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);

    const hostPort = await getFreePort();
    hostRelay = createServer((a) => {
      const b = connect({ host: '127.0.0.1', port: targetPort });
      sockets.add(a);
      sockets.add(b);
      a.pipe(b);
      b.pipe(a);
      const end = () => {
        a.destroy();
        b.destroy();
        sockets.delete(a);
        sockets.delete(b);
      };
      a.on('error', end).on('close', end);
      b.on('error', end).on('close', end);
    });
    await new Promise<void>((resolve, reject) => hostRelay!.once('error', reject).listen(hostPort, hostAddr, () => resolve()));

    const relayPort = 18080;
    relay = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', RELAY, nsAddr, String(relayPort), hostAddr, String(hostPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let output = '';
    relay.stdout!.on('data', (d) => (output += String(d)));
    await waitUntil('the relay inside the network namespace', async () => output.includes('ready'), { timeoutMs: 15_000, intervalMs: 50 });

    let qdisc = false;
    const netem = (args: string[]): void => {
      if (qdisc) must(['ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', nsIf, 'root']);
      qdisc = false;
      if (args.length > 0) {
        must(['ip', 'netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', nsIf, 'root', 'netem', ...args]);
        qdisc = true;
      }
    };
    const child = relay;
    return {
      url: `http://${nsAddr}:${relayPort}`,
      mechanism,
      async delay(ms: number) {
        if (mechanism === 'netem') return netem(ms > 0 ? ['delay', `${ms}ms`] : []);
        const seen = output.length;
        child.stdin!.write(`delay ${Math.round(ms)}\n`);
        await waitUntil('the relay took the delay', async () => output.slice(seen).includes(`ok ${Math.round(ms)}`), { timeoutMs: 5_000, intervalMs: 20 });
      },
      loss(percent: number) {
        if (mechanism === 'netem') return netem(percent > 0 ? ['loss', `${percent}%`] : []);
        run(['ip', 'netns', 'exec', ns, 'iptables', '-F', 'OUTPUT']);
        if (percent > 0) must(['ip', 'netns', 'exec', ns, 'iptables', '-A', 'OUTPUT', '-o', nsIf, '-m', 'statistic', '--mode', 'random', '--probability', String(percent / 100), '-j', 'DROP']);
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
