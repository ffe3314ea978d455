import { z } from 'zod';
import { IsoDateTime, PageQuery, Role, page } from './common.js';

const Email = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((e) => e.toLowerCase());
const Password = z.string().min(8).max(256);

export const User = z
  .object({
    id: z.uuid(),
    email: z.string(),
    displayName: z.string(),
    roles: z.array(Role),
    inviteCode: z.string(),
    createdAt: IsoDateTime,
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof User>;

export const UserResponse = z.object({ user: User });

export const RegisterBody = z
  .object({
    email: Email,
    password: Password,
    displayName: z.string().trim().min(1).max(64).optional(),
    inviteCode: z.string().trim().min(1).max(32).optional(),
  })
  .strict();
export type RegisterBody = z.infer<typeof RegisterBody>;

export const LoginBody = z.object({ email: Email, password: z.string().min(1).max(256) }).strict();
export type LoginBody = z.infer<typeof LoginBody>;

export const TokenResponse = z.object({
  accessToken: z.string(),
  refreshToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
});
export type TokenResponse = z.infer<typeof TokenResponse>;

export const RefreshBody = z.object({ refreshToken: z.string().min(1).max(512) }).strict();

export const UsersQuery = PageQuery.extend({
  role: Role.optional(),
  email: z.string().trim().min(1).max(254).optional(),
}).strict();
export type UsersQuery = z.infer<typeof UsersQuery>;
export const UserList = page(User);

export const SetRolesBody = z
  .object({
    roles: z
      .array(Role)
      .min(1)
      .max(4)
      .refine((r) => new Set(r).size === r.length, 'roles must not repeat'),
  })
  .strict();

/** What an API key may do: post activities, read the grants feed. */
export const API_KEY_SCOPES = ['activities:write', 'grants:read'] as const;
export const ApiKeyScope = z.enum(API_KEY_SCOPES);
export type ApiKeyScope = z.infer<typeof ApiKeyScope>;

export const CreateApiKeyBody = z
  .object({
    name: z.string().trim().min(1).max(100),
    scopes: z
      .array(ApiKeyScope)
      .min(1)
      .max(API_KEY_SCOPES.length)
      .refine((s) => new Set(s).size === s.length, 'scopes must not repeat')
      .default(['activities:write']),
    expiresAt: IsoDateTime.refine((t) => Date.parse(t) > Date.now(), 'must be in the future').optional(),
  })
  .strict();
export type CreateApiKeyBody = z.infer<typeof CreateApiKeyBody>;

export const ApiKey = z
  .object({
    id: z.uuid(),
    name: z.string(),
    scopes: z.array(ApiKeyScope),
    expiresAt: IsoDateTime.nullable(),
    createdAt: IsoDateTime,
    /** When the gateway last exchanged the key (it does so at most every few minutes per key). */
    lastUsedAt: IsoDateTime.nullable(),
    revokedAt: IsoDateTime.nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof ApiKey>;
export const ApiKeyList = page(ApiKey);
export const ApiKeysQuery = PageQuery.strict();

export const ApiKeyCreated = z.object({
  id: z.uuid(),
  name: z.string(),
  scopes: z.array(ApiKeyScope),
  key: z.string(),
  expiresAt: IsoDateTime.nullable(),
  createdAt: IsoDateTime,
});
export type ApiKeyCreated = z.infer<typeof ApiKeyCreated>;

export const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())) });

/** Claims carried by every access token auth signs. */
export const TOKEN_ISSUER = 'reward-platform/auth';
export const TOKEN_AUDIENCE = 'reward-platform';
