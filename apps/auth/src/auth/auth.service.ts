import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { LoginBody, RegisterBody, Role, TokenResponse, User } from '@rewards/contracts';
import { AppError, isUniqueViolation, type Principal } from '@rewards/infrastructure';
import { UnitOfWork } from '@rewards/infrastructure/persistence';
import { AUTH_CONFIG, type AuthConfig } from '../config.js';
import { SigningKeyStore } from '../keys/signing-key.store.js';
import { OutboxRelay } from '../outbox/outbox.relay.js';
import { OutboxRepository } from '../outbox/outbox.repository.js';
import { SessionRepository } from '../sessions/session.repository.js';
import { toUser, UserRepository } from '../users/user.repository.js';
import { LoginThrottleRepository } from './login-throttle.repository.js';
import { PasswordHasher } from './password.hasher.js';
import { RegistrationLimitRepository } from './registration-limit.repository.js';

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
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
    const attempt = await this.reserveAttempt(body.email, ip);
    let user: Awaited<ReturnType<UserRepository['findByEmail']>>;
    let ok: boolean;
    try {
      user = await this.users.findByEmail(this.uow.db, body.email);
      ok = await this.hasher.verify(user?.passwordHash, body.password);
    } catch (err) {
      await this.throttle.release(this.uow.db, attempt).catch(() => undefined);
      throw err;
    }
    if (!user || !ok) {
      await this.throttle.confirmFailure(this.uow.db, attempt);
      throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong');
    }
    await this.throttle.release(this.uow.db, attempt);
    const sessionId = randomUUID();
    const refreshToken = this.newRefreshToken();
    // The roles signed into the token are read under the user's row lock, in the transaction that
    // creates the session: a role change either committed before (and its roles are read here) or
    // waits for this commit and then revokes the session created here. Roles read before the
    // password check would let a login racing a demotion carry the old roles on a live session.
    const roles = await this.uow.transaction(async (tx) => {
      const locked = await this.users.lock(tx, user.id);
      if (!locked) throw new AppError('INVALID_CREDENTIALS', 'Email or password is wrong');
      const previous = await this.sessions.current(tx, user.id);
      if (previous) await this.sessions.recordRevocation(tx, user.id, previous, 'replaced');
      await this.sessions.upsert(tx, user.id, sessionId);
      await this.sessions.insertRefreshToken(tx, this.refreshRow(refreshToken, sessionId, user.id));
      const occurredAt = new Date().toISOString();
      await this.outbox.addActivity(tx, { id: `login:${sessionId}`, userId: user.id, type: 'LOGIN', occurredAt });
      return locked.roles;
    });
    this.relay.kick();
    return this.tokens(user.id, roles, sessionId, refreshToken);
  }

  /**
   * Waits while attempts in flight could still reach the limit (they settle within a password
   * check), so parallel sign-ins with the right password are not refused and parallel guesses get
   * no more tries than the limit.
   */
  private async reserveAttempt(email: string, ip: string): Promise<number> {
    const limits = {
      perAccount: this.config.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      perIp: this.config.LOGIN_MAX_FAILURES_PER_IP,
      windowSeconds: this.config.LOGIN_FAILURE_WINDOW_SECONDS,
    };
    const giveUpAt = Date.now() + 5000;
    for (let round = 0; ; round++) {
      const reservation = await this.uow.transaction((tx) => this.throttle.reserve(tx, email, ip, limits));
      if (typeof reservation === 'object') return reservation.id;
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
      await this.sessions.insertRefreshToken(tx, this.refreshRow(next, row.sessionId, row.userId));
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

  private refreshRow(token: string, sessionId: string, userId: string) {
    return {
      tokenHash: sha256(token),
      sessionId,
      userId,
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
