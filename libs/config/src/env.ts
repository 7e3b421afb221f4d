/** Reading variables: the helpers every configuration loader of the project uses (libs/config, apps/edge). */

/** An environment: `process.env` or any map of names to values. */
export type Env = Readonly<Record<string, string | undefined>>;

/** A variable is missing, malformed or out of range; the message names it, what it must be, and what it was. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    got: string | undefined,
  ) {
    super(`Invalid configuration: ${variable} must be ${expected}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`);
    this.name = 'ConfigError';
  }
}

/** The trimmed value, or `undefined` when the variable is unset or blank. */
export function envString(env: Env, name: string): string | undefined {
  const v = env[name];
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

/** A whole number within [min, max], or `def` when unset. */
export function envInt(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = envString(env, name);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `an integer between ${min} and ${max}`, raw);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `an integer between ${min} and ${max}`, raw);
  return n;
}

/** `true`/`1`/`yes`/`on` or `false`/`0`/`no`/`off`, or `def` when unset. */
export function envBool(env: Env, name: string, def: boolean): boolean {
  const raw = envString(env, name);
  if (raw === undefined) return def;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, 'true or false', raw);
}

/** A comma-separated list, blanks dropped; empty when unset. */
export function envList(env: Env, name: string): string[] {
  const raw = envString(env, name);
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** Freezes a loaded configuration all the way down, so nothing changes it after start. */
export function deepFreeze<T>(o: T): Readonly<T> {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** For entry points: run a loader, or print its one-line reason and exit 1 on a {@link ConfigError}. */
export function loadOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
