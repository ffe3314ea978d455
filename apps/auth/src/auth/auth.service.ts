import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { LoginBody, RegisterBody, Role, TokenResponse, User } from '@rewards/contracts';
import { AppError, isUniqueViolation, type Principal, sqlState } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { AUTH_CONFIG, type AuthConfig } from '../config.js';
import { SigningKeyStore } from '../keys/signing-key.store.js';
import { OutboxRelay } from '../outbox/outbox.relay.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { toUser, UserRepository } from '../users/user.repository.js';
import { LoginThrottleRepository, type ThrottleLimits } from './login-throttle.repository.js';
import { PasswordHasher } from './password.hasher.js';
import { RegistrationLimitRepository } from './registration-limit.repository.js';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** A session for a user who no longer exists fails on the sessions' foreign key. */
const FOREIGN_KEY_VIOLATION = '23503';
const INVITE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export function newInviteCode(): string {
  const bytes = randomBytes(10);
  return Array.from(bytes, (b) => INVITE_ALPHABET[b % INVITE_ALPHABET.length]).join('');
}

@Injectable()
export class AuthService {
  constructor(
    private readonly uow: UnitOfWork,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
    private readonly users: UserRepository,
    private readonly sessions: SessionRepository,
    private readonly keys: SigningKeyStore,
    private readonly hasher: PasswordHasher,
    private readonly throttle: LoginThrottleRepository,
    private readonly registrations: RegistrationLimitRepository,
    private readonly outbox: OutboxRepository,
    private readonly relay: OutboxRelay,
  ) {}

  async register(body: RegisterBody, ip: string): Promise<User> {
    const passwordHash = await this.hasher.hash(body.password);
    try {
      return await this.uow.transaction(async (tx) => {
        const perHour = this.config.REGISTRATION_LIMIT_PER_HOUR;
        const refused = perHour > 0 ? await this.registrations.admit(tx, ip, perHour) : null;
        if (refused) {
          const message = 'Too many registrations from this address; try again later';
          throw new AppError('TOO_MANY_REQUESTS', message, undefined, refused.retryAfterSeconds);
        }
        let invitedBy: string | undefined;
        if (body.inviteCode) {
          const inviter = await this.users.findByInviteCode(tx, body.inviteCode.toUpperCase());
          if (!inviter) {
            throw new AppError('VALIDATION_FAILED', 'Request is invalid', [
              { path: 'inviteCode', code: 'unknown', message: 'No user has this invite code' },
            ]);
          }
          invitedBy = inviter.id;
        }
        const id = randomUUID();
        const row = await this.users.insert(tx, {
          id,
          email: body.email,
          displayName: body.displayName ?? body.email.split('@')[0]!,
          passwordHash,
          roles: ['USER'],
          inviteCode: newInviteCode(),
          invitedBy,
        });
        if (invitedBy) {
          // The inviter's fact: one per invitee (the invitee's id is the activity id).
          await this.outbox.addActivity(tx, {
            id: `invite:${id}`,
            userId: invitedBy,
            type: 'INVITE_ACCEPTED',
            occurredAt: row.createdAt.toISOString(),
            attributes: { inviteeId: id },
          });
        }
        return toUser(row);
      });
    } catch (err) {
      if (isUniqueViolation(err, 'users_email_key'))
        throw new AppError('EMAIL_TAKEN', 'An account with this email exists');
      throw err;
    }
  }

  async login(body: LoginBody, ip: string): Promise<TokenResponse> {
    const limits = this.throttleLimits();
    const { attempt, account } = await this.reserveAttempt(body.email, ip, limits);
    let ok: boolean;
    try {
      ok = await this.hasher.verify(account?.passwordHash, body.password);
    } catch (err) {
      await this.throttle.release(this.uow.db, attempt).catch(() => undefined);
      throw err;
    }
    if (!account || !ok) {
      await this.throttle.confirmFailure(this.uow.db, attempt, limits);
      throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong');
    }
    const sessionId = randomUUID();
    const refreshToken = this.newRefreshToken();
    // The roles signed into the token are read under the user's row lock, in the statement that
    // opens the session: a role change either committed before (and its roles are read here) or
    // waits for this commit and then revokes the session opened here. Roles read before the
    // password check would let a login racing a demotion carry the old roles on a live session.
    // The throttle's place and the LOGIN fact commit with the session.
    let roles: Role[];
    try {
      roles = await this.sessions.open(
        this.uow.db,
        this.users.lockedRoles(account.id),
        { userId: account.id, sessionId, refreshToken: this.refreshRow(refreshToken) },
        [
          this.throttle.releasing(attempt),
          this.outbox.addingActivity({
            id: `login:${sessionId}`,
            userId: account.id,
            type: 'LOGIN',
            occurredAt: new Date().toISOString(),
          }),
        ],
      );
    } catch (err) {
      await this.throttle.release(this.uow.db, attempt).catch(() => undefined);
      if (sqlState(err) === FOREIGN_KEY_VIOLATION)
        throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong');
      throw err;
    }
    this.relay.kick();
    return this.tokens(account.id, roles, sessionId, refreshToken);
  }

  private throttleLimits(): ThrottleLimits {
    return {
      perAccount: this.config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      perIp: this.config.LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: this.config.LOGIN_FAILURE_WINDOW_SECONDS,
    };
  }

  /**
   * Reserves the attempt and looks the account up, in one statement. Waits while attempts in flight
   * could still reach the limit (they settle within a password check), so parallel sign-ins with the
   * right password are not refused and parallel guesses get no more tries than the limit.
   */
  private async reserveAttempt(email: string, ip: string, limits: ThrottleLimits) {
    const giveUpAt = Date.now() + 5000;
    for (let round = 0; ; round++) {
      const reservation = await this.throttle.reserve(
        this.uow.db,
        email,
        ip,
        limits,
        this.users.credentialsByEmail(email),
      );
      if (typeof reservation === 'object') return { attempt: reservation.attempt, account: reservation.found };
      if (reservation === 'limited' || Date.now() > giveUpAt) {
        throw new AppError('TOO_MANY_ATTEMPTS', 'Too many failed sign-ins; try again later');
      }
      const backoff = Math.min(200, 20 * 2 ** round);
      await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * backoff));
    }
  }

  async refresh(presented: string): Promise<TokenResponse> {
    const invalid = () => new AppError('INVALID_REFRESH_TOKEN', 'Refresh token is invalid, expired or already used');
    const outcome = await this.uow.transaction(async (tx) => {
      const row = await this.sessions.lockRefreshToken(tx, sha256(presented));
      if (!row) return { ok: false as const };
      await this.users.lock(tx, row.userId);
      const current = await this.sessions.current(tx, row.userId);
      if (row.usedAt) {
        // A spent token presented again means it leaked: end the session it belongs to.
        if (current === row.sessionId) await this.sessions.revoke(tx, row.userId, 'refresh-reuse', row.sessionId);
        return { ok: false as const };
      }
      if (current !== row.sessionId || row.expiresAt.getTime() <= Date.now()) return { ok: false as const };
      const user = await this.users.findById(tx, row.userId);
      await this.sessions.markRefreshTokenUsed(tx, row.tokenHash);
      const next = this.newRefreshToken();
      await this.sessions.insertRefreshToken(tx, {
        ...this.refreshRow(next),
        sessionId: row.sessionId,
        userId: row.userId,
      });
      return { ok: true as const, userId: row.userId, roles: user!.roles, sessionId: row.sessionId, next };
    });
    if (!outcome.ok) throw invalid();
    return this.tokens(outcome.userId, outcome.roles, outcome.sessionId, outcome.next);
  }

  async logout(principal: Principal): Promise<void> {
    await this.uow.transaction(async (tx) => {
      await this.users.lock(tx, principal.subject);
      await this.sessions.revoke(tx, principal.subject, 'logout', principal.sessionId);
    });
  }

  async me(principal: Principal): Promise<User> {
    const row = await this.users.findById(this.uow.db, principal.subject);
    if (!row) throw new AppError('UNAUTHENTICATED', 'Account no longer exists');
    return toUser(row);
  }

  private newRefreshToken(): string {
    return randomBytes(32).toString('base64url');
  }

  private refreshRow(token: string) {
    return {
      tokenHash: sha256(token),
      expiresAt: new Date(Date.now() + this.config.REFRESH_TOKEN_TTL_SECONDS * 1000),
    };
  }

  private async tokens(userId: string, roles: Role[], sessionId: string, refreshToken: string): Promise<TokenResponse> {
    return {
      accessToken: await this.keys.signAccessToken(userId, roles, sessionId),
      refreshToken,
      tokenType: 'Bearer',
      expiresIn: this.config.ACCESS_TOKEN_TTL_SECONDS,
    };
  }
}
