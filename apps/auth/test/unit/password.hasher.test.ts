import { describe, expect, it } from 'vitest';
import { PasswordHasher } from '../../src/auth/password.hasher.js';

describe(PasswordHasher.name, () => {
  const sut = new PasswordHasher();

  it('produces argon2id hashes', async () => {
    const hash = await sut.hash('correct horse battery staple');

    expect(hash.startsWith('$argon2id$')).toBe(true);
    expect(hash).not.toContain('correct horse');
  });

  it('salts every hash', async () => {
    const [a, b] = await Promise.all([sut.hash('same password'), sut.hash('same password')]);

    expect(a).not.toBe(b);
  });

  it('verifies the right password and refuses a wrong one', async () => {
    const hash = await sut.hash('correct horse battery staple');

    await expect(sut.verify(hash, 'correct horse battery staple')).resolves.toBe(true);
    await expect(sut.verify(hash, 'correct horse battery stapl')).resolves.toBe(false);
    await expect(sut.verify(hash, '')).resolves.toBe(false);
  });

  it('refuses every password when there is no account (decoy hash)', async () => {
    await expect(sut.verify(undefined, 'decoy-password-for-timing-guess')).resolves.toBe(false);
    await expect(sut.verify(undefined, 'anything')).resolves.toBe(false);
  });

  it('answers false, not an error, for a malformed stored hash', async () => {
    await expect(sut.verify('not-a-hash', 'anything')).resolves.toBe(false);
    await expect(sut.verify('', 'anything')).resolves.toBe(false);
  });
});
