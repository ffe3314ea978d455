import 'reflect-metadata';
import { describe, expect, it } from 'vitest';

/**
 * Nest injects constructor parameters by their emitted design types. The services run from
 * `tsc -b` output, so the check reads the built classes: a build that loses the metadata
 * boots and then fails every injected call.
 */
describe('dependency-injection metadata of the built auth service', () => {
  it.each([
    ['auth/auth.service.js', 'AuthService', ['Object', 'Object', 'UserRepository', 'SessionRepository', 'KeyStore', 'PasswordHasher', 'LoginThrottleRepository', 'RegistrationLimitRepository', 'Outbox', 'OutboxRelay']],
    ['users/users.service.js', 'UsersService', ['Object', 'UserRepository', 'SessionRepository', 'Outbox', 'OutboxRelay']],
    ['users/admin-bootstrap.js', 'AdminBootstrap', ['Object', 'Object', 'UserRepository', 'PasswordHasher']],
    ['api-keys/api-keys.service.js', 'ApiKeysService', ['ApiKeyRepository', 'SessionRepository', 'KeyStore', 'Object', 'Outbox', 'OutboxRelay']],
    ['keys/local-token-verifier.js', 'LocalTokenVerifier', ['KeyStore', 'SessionRepository']],
    ['keys/key-store.js', 'KeyStore', ['Object', 'Object']],
    ['sessions/session.repository.js', 'SessionRepository', ['Object']],
    ['outbox/outbox.js', 'OutboxRelay', ['Object', 'Object']],
  ])('%s declares the types of its constructor parameters', async (file, name, expected) => {
    const mod = (await import(`../../dist/${file}`)) as Record<string, abstract new (...args: never[]) => unknown>;
    const cls = mod[name]!;

    const types = (Reflect.getMetadata('design:paramtypes', cls) as { name: string }[] | undefined)?.map((t) => t.name);

    expect(types).toEqual(expected);
  });
});
