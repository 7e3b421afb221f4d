/**
 * The logging surface this lib needs. A pino logger satisfies it as is; tests pass `noopLogger` or a recorder.
 */
export interface MediaLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const noopLogger: MediaLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
