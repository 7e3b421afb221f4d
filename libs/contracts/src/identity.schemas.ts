import { Type, type Static } from '@sinclair/typebox';
import { DateTimeSchema, UuidSchema } from './common.schemas.js';

/** 3–30 characters of a-z 0-9 _ . - (compared without regard to case; stored lower-case). */
export const UsernameSchema = Type.String({ minLength: 3, maxLength: 30, pattern: '^[A-Za-z0-9_.-]+$' });
export const EmailSchema = Type.String({ minLength: 3, maxLength: 254, format: 'email' });
/** Length bounds only; strength rules are checked by the user service with a field error. */
export const PasswordSchema = Type.String({ minLength: 8, maxLength: 256 });
export const DisplayNameSchema = Type.String({ minLength: 1, maxLength: 100 });

export const RegisterBodySchema = Type.Object(
  {
    username: UsernameSchema,
    email: EmailSchema,
    password: PasswordSchema,
    displayName: Type.Optional(DisplayNameSchema),
  },
  { additionalProperties: false },
);
export type RegisterBody = Static<typeof RegisterBodySchema>;

export const LoginBodySchema = Type.Object(
  { login: Type.String({ minLength: 1, maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 256 }) },
  { additionalProperties: false },
);
export type LoginBody = Static<typeof LoginBodySchema>;

export const RefreshTokenBodySchema = Type.Object(
  { refreshToken: Type.String({ minLength: 1, maxLength: 512 }) },
  { additionalProperties: false },
);
export type RefreshTokenBody = Static<typeof RefreshTokenBodySchema>;

export const UserSchema = Type.Object(
  {
    id: UuidSchema,
    username: Type.String(),
    email: Type.String(),
    displayName: Type.String(),
    channelId: UuidSchema,
    createdAt: DateTimeSchema,
  },
  { title: 'User' },
);
export type User = Static<typeof UserSchema>;

export const UpdateMeBodySchema = Type.Object(
  {
    displayName: Type.Optional(DisplayNameSchema),
    password: Type.Optional(PasswordSchema),
    currentPassword: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateMeBody = Static<typeof UpdateMeBodySchema>;

export const AuthResultSchema = Type.Object(
  {
    user: UserSchema,
    accessToken: Type.String(),
    refreshToken: Type.String(),
    expiresIn: Type.Integer({ description: 'access token lifetime in seconds' }),
    tokenType: Type.Literal('Bearer'),
  },
  { title: 'AuthResult' },
);
export type AuthResult = Static<typeof AuthResultSchema>;

export const ChannelSchema = Type.Object(
  {
    id: UuidSchema,
    handle: Type.String(),
    name: Type.String(),
    description: Type.String(),
    ownerId: UuidSchema,
    subscriberCount: Type.Integer({ minimum: 0 }),
    videoCount: Type.Integer({ minimum: 0 }),
    createdAt: DateTimeSchema,
  },
  { title: 'Channel' },
);
export type Channel = Static<typeof ChannelSchema>;

export const UpdateChannelBodySchema = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    description: Type.Optional(Type.String({ maxLength: 5000 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type UpdateChannelBody = Static<typeof UpdateChannelBodySchema>;

/** Claims of Kinora access tokens. */
export interface AccessTokenClaims {
  sub: string;
  /** username */
  name: string;
  /** login family id (refresh-token family) */
  sid: string;
  scope?: string;
}

/** The authenticated principal a route sees. */
export interface Principal {
  userId: string;
  username: string;
  sessionId: string;
}
