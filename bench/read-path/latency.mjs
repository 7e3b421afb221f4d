// Latency probe of the read-path benchmark (its own process): the open loop of bench/open-loop.mjs, with paths as
// load.mjs draws them. Usage: node latency.mjs <base url> <rate/s> <seconds> zipf|fixed <count or path>
import { openLoop } from '../open-loop.mjs';
import { zipfPaths } from './ids.mjs';

const [base, rateArg, secondsArg, kind, arg] = process.argv.slice(2);
const result = await openLoop({
  origin: base,
  rate: Number(rateArg),
  seconds: Number(secondsArg),
  nextPath: kind === 'zipf' ? zipfPaths(Number(arg)) : () => arg,
});
process.stdout.write(`${JSON.stringify(result)}\n`);
