import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Claim, ClaimStatus } from '@rewards/contracts';
import type { Db } from '@rewards/infrastructure/persistence';
import { type ClaimMessage, WebhookMessageRepository } from './webhook-message.repository.js';
import { WebhookDeliveryWorker } from './webhook-delivery.worker.js';

const TYPE_OF: Record<ClaimStatus, ClaimMessage['type']> = {
  APPROVED: 'claim.approved',
  PENDING: 'claim.pending',
  REJECTED: 'claim.rejected',
};

/** Where decisions become webhook messages: written with the decision, sent once it committed. */
@Injectable()
export class WebhookOutbox {
  constructor(
    private readonly messages: WebhookMessageRepository,
    private readonly worker: WebhookDeliveryWorker,
  ) {}

  /**
   * In the decision's own transaction: the claim's message (`claim.approved` with its grants,
   * `claim.pending`, `claim.rejected`) for every active webhook subscribed to it. Returns how many
   * were written, for `committed`.
   */
  claimDecided(tx: Db, claim: Claim): Promise<number> {
    return this.messages.insertForSubscribers(tx, this.messageOf(claim));
  }

  /** The message announcing a claim's decision, for a statement that writes it with the claim. */
  messageOf(claim: Claim): ClaimMessage {
    return { messageId: randomUUID(), type: TYPE_OF[claim.status], timestamp: new Date().toISOString(), claim };
  }

  /** After the transaction committed: its messages go out now, not at the next poll. */
  committed(messages: number): void {
    if (messages > 0) this.worker.wake();
  }
}
