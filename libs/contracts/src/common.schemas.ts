import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** RFC 9457 problem details as Kinora renders them. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'URI of the problem type (docs/errors.md#CODE)' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    detail: Type.String(),
    instance: Type.Optional(Type.String()),
    code: Type.Optional(Type.String({ description: 'stable machine-readable error code' })),
    errors: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String({ description: 'JSON pointer-like path of the field, e.g. /body/email' }),
          message: Type.String(),
        }),
      ),
    ),
  },
  { additionalProperties: true, title: 'Problem' },
);
export type Problem = Static<typeof ProblemSchema>;

export const IdSchema = Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9a-zA-Z_-]+$' });
/** A UUID in its plain form (the base app's `uuid` format leaves out the `urn:uuid:` form; see createBaseApp). */
export const UuidSchema = Type.String({ format: 'uuid' });
export const DateTimeSchema = Type.String({ format: 'date-time' });

export const PaginationQuerySchema = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ maxLength: 512 })),
  },
  { additionalProperties: false },
);

export function PageSchema<T extends TSchema>(item: T) {
  return Type.Object({ items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) });
}

/** Problem responses a route documents (the shared handler renders them). */
export function problemResponses(...statuses: number[]): Record<number, typeof ProblemSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ProblemSchema]));
}
