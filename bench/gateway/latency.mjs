// Latency probe (its own process): the open loop of bench/open-loop.mjs against one URL.
// Usage: node latency.mjs <url> <rate/s> <seconds> [bearer token]
import { openLoop } from '../open-loop.mjs';

const [url, rateArg, secondsArg, token] = process.argv.slice(2);
const u = new URL(url);
const result = await openLoop({
  origin: u.origin,
  rate: Number(rateArg),
  seconds: Number(secondsArg),
  nextPath: () => u.pathname,
  headers: token ? { authorization: `Bearer ${token}` } : {},
});
process.stdout.write(`${JSON.stringify(result)}\n`);
