import { z } from 'zod';
import { IsoDateTime, PageQuery, page } from './common.js';

// ---- Webhooks: decisions pushed to game servers, signed as Standard Webhooks 1.0 prescribes -----

export const WEBHOOK_MESSAGE_TYPES = ['claim.approved', 'claim.pending', 'claim.rejected', 'webhook.test'] as const;
export const WebhookMessageType = z.enum(WEBHOOK_MESSAGE_TYPES);
export type WebhookMessageType = z.infer<typeof WebhookMessageType>;

export const WEBHOOK_DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'FAILED'] as const;
export const WebhookDeliveryStatus = z.enum(WEBHOOK_DELIVERY_STATUSES);
export type WebhookDeliveryStatus = z.infer<typeof WebhookDeliveryStatus>;

/** Where messages go: http(s) only; private, loopback and link-local destinations are refused (400). */
export const WebhookUrl = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .meta({
    description:
      'http(s) URL the messages are POSTed to. Loopback, private and link-local destinations are refused ' +
      'unless the platform runs with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true; redirects are not followed.',
    example: 'https://game.example.com/hooks/rewards',
  });

const WebhookEvents = z
  .array(WebhookMessageType)
  .min(1)
  .max(WEBHOOK_MESSAGE_TYPES.length)
  .refine((types) => new Set(types).size === types.length, 'each type at most once')
  .meta({ description: 'The message types this webhook receives (a test message is sent on request only)' });

export const Webhook = z
  .object({
    id: z.uuid(),
    url: z.string(),
    events: z.array(WebhookMessageType),
    description: z.string().nullable(),
    active: z.boolean().describe('false: nothing is sent to it until it is active again'),
    createdAt: IsoDateTime,
  })
  .meta({ id: 'Webhook' });
export type Webhook = z.infer<typeof Webhook>;

/** A signing secret: `whsec_` and the base64 of its key. Shown once, when created or rotated. */
export const WebhookSecret = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/)
  .meta({ description: 'whsec_ and the base64 of the HMAC-SHA256 key; shown only in this answer' });

export const CreateWebhookBody = z
  .object({
    url: WebhookUrl,
    events: WebhookEvents,
    description: z.string().trim().max(500).nullable().optional(),
  })
  .strict();
export type CreateWebhookBody = z.infer<typeof CreateWebhookBody>;

export const UpdateWebhookBody = z
  .object({
    url: WebhookUrl.optional(),
    events: WebhookEvents.optional(),
    description: z.string().trim().max(500).nullable().optional(),
    active: z.boolean().optional(),
  })
  .strict()
  .refine((b) => Object.keys(b).length > 0, 'send at least one field to change');
export type UpdateWebhookBody = z.infer<typeof UpdateWebhookBody>;

export const WebhookCreated = z.object({ webhook: Webhook, secret: WebhookSecret });
export const WebhookResponse = z.object({ webhook: Webhook });
export const WebhookList = page(Webhook);
export const WebhookSecretResponse = z.object({ secret: WebhookSecret });
export const WebhookTestSent = z.object({ messageId: z.uuid() });

export const WebhookDelivery = z
  .object({
    messageId: z.uuid().describe('The `webhook-id` header: the same on every attempt'),
    type: WebhookMessageType,
    status: WebhookDeliveryStatus,
    attempts: z.number().int(),
    lastAttemptAt: IsoDateTime.nullable(),
    lastResponseStatus: z.number().int().nullable(),
    lastError: z.string().nullable().describe('What went wrong last (at most 500 characters of it)'),
    nextAttemptAt: IsoDateTime.nullable(),
    deliveredAt: IsoDateTime.nullable(),
    createdAt: IsoDateTime,
  })
  .meta({ id: 'WebhookDelivery' });
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;
export const WebhookDeliveryResponse = z.object({ delivery: WebhookDelivery });
export const WebhookDeliveryList = page(WebhookDelivery);

export const WebhookDeliveriesQuery = PageQuery.extend({ status: WebhookDeliveryStatus.optional() }).strict();
export type WebhookDeliveriesQuery = z.infer<typeof WebhookDeliveriesQuery>;
export const WebhooksQuery = PageQuery.strict();
export const WebhookDeliveryParams = z.object({ id: z.uuid(), messageId: z.uuid() }).strict();
