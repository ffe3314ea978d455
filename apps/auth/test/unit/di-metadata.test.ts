import 'reflect-metadata';
import { describe, expect, it } from 'vitest';

type Constructor = abstract new (...args: never[]) => unknown;
async function load(file: string, name: string): Promise<Constructor> {
  return ((await import(`../../dist/${file}`)) as Record<string, Constructor>)[name]!;
}

/**
 * Nest injects constructor parameters by their emitted design types. The services run from
 * `tsc -b` output, so the check reads the built classes: a build that loses the metadata
 * boots and then fails every injected call.
 */
describe('dependency-injection metadata of the built auth service', () => {
  it.each([
    [
      'auth/auth.service.js',
      'AuthService',
      [
        'UnitOfWork',
        'Object',
        'UserRepository',
        'SessionRepository',
        'SigningKeyStore',
        'PasswordHasher',
        'LoginThrottleRepository',
        'RegistrationLimitRepository',
        'OutboxRepository',
        'OutboxRelay',
      ],
    ],
    [
      'users/users.service.js',
      'UsersService',
      ['UnitOfWork', 'UserRepository', 'SessionRepository', 'OutboxRepository', 'OutboxRelay'],
    ],
    ['users/admin.bootstrap.js', 'AdminBootstrap', ['UnitOfWork', 'Object', 'UserRepository', 'PasswordHasher']],
    [
      'api-keys/api-keys.service.js',
      'ApiKeysService',
      ['ApiKeyRepository', 'SessionRepository', 'SigningKeyStore', 'UnitOfWork', 'OutboxRepository', 'OutboxRelay'],
    ],
    [
      'sessions/sessions.service.js',
      'SessionsService',
      ['UnitOfWork', 'SessionRepository', 'Object', 'Object', 'Object'],
    ],
    ['keys/local-token.verifier.js', 'LocalTokenVerifier', ['SigningKeyStore', 'UnitOfWork', 'SessionRepository']],
    ['keys/signing-key.store.js', 'SigningKeyStore', ['UnitOfWork', 'SigningKeyRepository', 'Object']],
    ['outbox/outbox.relay.js', 'OutboxRelay', ['UnitOfWork', 'OutboxRepository', 'Object', 'Object']],
    [
      'housekeeping.job.js',
      'HousekeepingJob',
      [
        'Object',
        'Object',
        'UnitOfWork',
        'LoginThrottleRepository',
        'RegistrationLimitRepository',
        'SessionRepository',
        'OutboxRepository',
      ],
    ],
    ['internal.controller.js', 'InternalController', ['SessionsService', 'ApiKeysService']],
  ])('%s declares the types of its constructor parameters', async (file, name, expected) => {
    const cls = await load(file, name);

    const types = (Reflect.getMetadata('design:paramtypes', cls) as { name: string }[] | undefined)?.map((t) => t.name);

    expect(types).toEqual(expected);
  });

  // Repositories take the transaction (or `uow.db`) in every call, never the database itself.
  it.each([
    ['users/user.repository.js', 'UserRepository'],
    ['sessions/session.repository.js', 'SessionRepository'],
    ['keys/signing-key.repository.js', 'SigningKeyRepository'],
    ['auth/login-throttle.repository.js', 'LoginThrottleRepository'],
    ['auth/registration-limit.repository.js', 'RegistrationLimitRepository'],
    ['api-keys/api-key.repository.js', 'ApiKeyRepository'],
    ['outbox/outbox.repository.js', 'OutboxRepository'],
  ])('%s is constructed with nothing to inject', async (file, name) => {
    const cls = await load(file, name);

    expect(cls.length).toBe(0);
    expect(Reflect.getMetadata('design:paramtypes', cls)).toBeUndefined();
  });
});
