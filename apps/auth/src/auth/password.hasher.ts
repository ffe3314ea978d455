import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';

/** argon2id (Algorithm.Argon2id is a const enum, so its value is spelled out). */
const ARGON2ID = 2;

@Injectable()
export class PasswordHasher {
  /** Verified against when the account does not exist, so timing does not reveal which emails are registered. */
  private readonly decoy = hash('decoy-password-for-timing', { algorithm: ARGON2ID });

  hash(password: string): Promise<string> {
    return hash(password, { algorithm: ARGON2ID });
  }

  async verify(passwordHash: string | undefined, password: string): Promise<boolean> {
    try {
      return await verify(passwordHash ?? (await this.decoy), password);
    } catch {
      return false;
    }
  }
}
