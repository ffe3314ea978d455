import { Injectable } from '@nestjs/common';
import type { Claim, ClaimDecisionBody, ClaimDecisionResult, ClaimDecisions } from '@rewards/contracts';
import { AppError } from '@rewards/infrastructure';
import type { AuditContext } from '../audit/audit.service.js';
import { ClaimsService } from './claims.service.js';

type DecidedStatus = ClaimDecisionResult['status'];
const DECIDED_STATUSES: readonly number[] = [403, 404, 409];

/**
 * Bulk approve/reject: each id goes through the single decision path (its own transaction, with its
 * grants, audit entry and messages), in order, and answers what the single route would have.
 */
@Injectable()
export class ClaimDecisionsService {
  constructor(private readonly claims: ClaimsService) {}

  async decide(ctx: AuditContext, body: ClaimDecisionBody): Promise<ClaimDecisions> {
    const results: ClaimDecisionResult[] = [];
    for (const id of body.ids) results.push(await this.decideOne(ctx, body, id));
    return { results };
  }

  private async decideOne(ctx: AuditContext, body: ClaimDecisionBody, id: string): Promise<ClaimDecisionResult> {
    let claim: Claim;
    try {
      claim =
        body.decision === 'APPROVE'
          ? await this.claims.approve(ctx, id)
          : await this.claims.reject(ctx, id, body.reason!);
    } catch (err) {
      // Anything but a refusal of this one claim (the database gone, a bug) fails the whole request.
      if (!(err instanceof AppError) || !DECIDED_STATUSES.includes(err.status)) throw err;
      const details = err.details === undefined ? {} : { details: err.details };
      const error = { code: err.code, message: err.message, ...details };
      return { id, status: err.status as DecidedStatus, error };
    }
    return { id, status: 200, claim };
  }
}
