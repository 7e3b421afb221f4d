import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FieldError } from '@kinora/http';

// TypeBox checks only the formats it is told about; these are the ones the contracts use (the HTTP routes get
// them from Ajv).
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('uuid')) FormatRegistry.Set('uuid', (v) => UUID.test(v));
if (!FormatRegistry.Has('date-time')) FormatRegistry.Set('date-time', (v) => DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));

export interface Validator<T extends TSchema> {
  check(value: unknown): value is Static<T>;
  /** Field problems of a value that failed (at most 10). */
  errors(value: unknown): FieldError[];
}

/** A compiled TypeBox schema (socket payloads and consumed events are checked with these, never trusted). */
export function validator<T extends TSchema>(schema: T): Validator<T> {
  const compiled = TypeCompiler.Compile(schema);
  return {
    check: (value): value is Static<T> => compiled.Check(value),
    errors(value) {
      const out: FieldError[] = [];
      for (const e of compiled.Errors(value)) {
        out.push({ field: e.path || '/', message: e.message });
        if (out.length >= 10) break;
      }
      return out;
    },
  };
}
