import { z } from 'zod';

export const ROLES = ['USER', 'OPERATOR', 'AUDITOR', 'ADMIN'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

export const Uuid = z.uuid();
export const IdParams = z.object({ id: z.uuid() }).strict();

/** Timestamps on the wire: ISO-8601 with an offset (or Z). */
export const IsoDateTime = z.iso.datetime({ offset: true });

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(512).optional(),
});

export const page = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), nextCursor: z.string().nullable() });
