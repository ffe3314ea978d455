import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { type Logger } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { newInviteCode } from '../auth/auth.service.js';
import { PasswordHasher } from '../auth/password.hasher.js';
import { AUTH_CONFIG, type AuthConfig } from '../config.js';
import { UserRepository } from './user.repository.js';

/**
 * The first administrator comes from ADMIN_EMAIL / ADMIN_PASSWORD at first start; with neither
 * set, one is created with a random password printed once. There is no other way to ADMIN.
 */
@Injectable()
export class AdminBootstrap {
  constructor(
    private readonly uow: UnitOfWork,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly users: UserRepository,
    private readonly hasher: PasswordHasher,
  ) {}

  async ensureAdmin(logger: Logger): Promise<void> {
    const email = (this.config.ADMIN_EMAIL ?? 'admin@example.com').toLowerCase();
    const generated = this.config.ADMIN_PASSWORD ? undefined : randomBytes(18).toString('base64url');
    const password = this.config.ADMIN_PASSWORD ?? generated!;
    const created = await this.uow.transaction(async (tx) => {
      // Under the lock, instances starting at once create one administrator between them.
      await this.users.lockAdminBootstrap(tx);
      if ((await this.users.countWithRole(tx, 'ADMIN')) > 0) return false;
      const existing = await this.users.findByEmail(tx, email);
      if (existing) {
        await this.users.setRoles(tx, existing.id, [...new Set([...existing.roles, 'ADMIN' as const])]);
        return 'promoted' as const;
      }
      await this.users.insert(tx, {
        id: randomUUID(),
        email,
        displayName: 'Administrator',
        passwordHash: await this.hasher.hash(password),
        roles: ['ADMIN'],
        inviteCode: newInviteCode(),
      });
      return true;
    });
    if (created === 'promoted') {
      logger.warn({ email }, 'no administrator existed; promoted the configured ADMIN_EMAIL account');
    } else if (created) {
      logger.info({ email }, 'created the first administrator');
      if (generated) {
        // Printed once, outside the JSON log, so it reaches the operator's terminal and no log store.
        process.stdout.write(
          `\n  First administrator created.\n    email:    ${email}\n    password: ${generated}\n` +
            '  It is shown only now. Set ADMIN_EMAIL / ADMIN_PASSWORD to choose them.\n\n',
        );
      }
    }
  }
}
