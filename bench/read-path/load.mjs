// The load generator of the read-path benchmark, in its own process: autocannon with a path per request.
// `node load.mjs <base url> <seconds> <connections> zipf|sweep|fixed <path or count> [rate]` prints one JSON line;
// with a rate (req/s over all connections) the load is paced instead of as fast as the server answers.
// zipf: ids of rank r drawn with probability ∝ 1/r (Zipf, s = 1.0) over `count` videos; sweep: every id once
// (the warm-up); fixed: one path.
import autocannon from 'autocannon';
import { videoId, zipfPaths } from './ids.mjs';

const [base, secondsArg, connectionsArg, kind, arg, rateArg] = process.argv.slice(2);
const seconds = Number(secondsArg);
const connections = Number(connectionsArg);

let nextPath;
if (kind === 'fixed') {
  nextPath = () => arg;
} else if (kind === 'zipf') {
  nextPath = zipfPaths(Number(arg));
} else if (kind === 'sweep') {
  const n = Number(arg);
  let i = 0;
  nextPath = () => `/api/v1/videos/${videoId((i++ % n) + 1)}`;
} else {
  process.stderr.write('usage: load.mjs <url> <seconds> <connections> zipf|sweep|fixed <arg>\n');
  process.exit(2);
}

const opts = {
  url: base,
  connections,
  pipelining: 1,
  requests: [{ setupRequest: (req) => ({ ...req, path: nextPath() }) }],
};
if (rateArg) opts.overallRate = Number(rateArg);
if (kind === 'sweep') {
  opts.amount = Number(arg);
  opts.timeout = 60;
}
else opts.duration = seconds;
const r = await autocannon(opts);
process.stdout.write(
  `${JSON.stringify({ rate: r.requests.average, total: r.requests.total, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts })}\n`,
);
