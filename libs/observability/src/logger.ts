import { trace } from '@opentelemetry/api';
import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * JSON logs (pino). Every line written while a span is active carries `traceId`/`spanId`; request logs carry
 * `reqId` (Fastify's child logger). Secrets in well-known places are redacted.
 */
export function createLogger(opts: { level: string; name?: string; destination?: pino.DestinationStream }): Logger {
  const options: LoggerOptions = {
    level: opts.level,
    base: { service: opts.name ?? 'kinora' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.password',
        '*.refreshToken',
        '*.accessToken',
        'password',
        'refreshToken',
      ],
      censor: '[redacted]',
    },
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const ctx = span.spanContext();
      return { traceId: ctx.traceId, spanId: ctx.spanId };
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's child logger that is only built when something is written through it. Fastify makes a pino child per
 * request (for `reqId`); at the usual levels most requests never log, and building the child (bindings serialised,
 * prototype chain set up) was a measurable share of a small request's cost. Disabled levels stay no-ops.
 */
class DeferredChildLogger {
  private real: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly childBindings: pino.Bindings,
    private readonly opts: pino.ChildLoggerOptions,
  ) {}

  private materialize(): Logger {
    return (this.real ??= this.parent.child(this.childBindings, this.opts));
  }

  private write(level: LevelName, args: unknown[]): void {
    const real = this.real;
    if (real) {
      (real[level] as (...a: unknown[]) => void)(...args);
      return;
    }
    const threshold = this.opts.level ?? this.parent.level;
    if ((pino.levels.values[level] ?? 0) < (pino.levels.values[threshold] ?? Number.POSITIVE_INFINITY)) return;
    (this.materialize()[level] as (...a: unknown[]) => void)(...args);
  }

  get level(): string {
    return this.real?.level ?? this.opts.level ?? this.parent.level;
  }
  set level(level: string) {
    this.materialize().level = level;
  }
  fatal(...args: unknown[]): void {
    this.write('fatal', args);
  }
  error(...args: unknown[]): void {
    this.write('error', args);
  }
  warn(...args: unknown[]): void {
    this.write('warn', args);
  }
  info(...args: unknown[]): void {
    this.write('info', args);
  }
  debug(...args: unknown[]): void {
    this.write('debug', args);
  }
  trace(...args: unknown[]): void {
    this.write('trace', args);
  }
  silent(): void {}
  child(bindings: pino.Bindings, opts?: pino.ChildLoggerOptions): Logger {
    return this.materialize().child(bindings, opts);
  }
  bindings(): pino.Bindings {
    return this.materialize().bindings();
  }
  isLevelEnabled(level: string): boolean {
    return this.materialize().isLevelEnabled(level);
  }
}

/** Fastify `childLoggerFactory`: request loggers built on first use ({@link DeferredChildLogger}). */
export function deferredChildLoggerFactory(logger: Logger, bindings: pino.Bindings, opts: pino.ChildLoggerOptions): Logger {
  return new DeferredChildLogger(logger, bindings, opts) as unknown as Logger;
}
