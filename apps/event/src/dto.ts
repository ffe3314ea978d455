import {
  ActivitiesBody,
  AuditQuery,
  ClaimsQuery,
  CreateEventBody,
  CreateRewardBody,
  EventsQuery,
  IdParams,
  PageQuery,
  RejectBody,
  UpdateEventBody,
} from '@rewards/contracts';
import { createZodDto } from 'nestjs-zod';

export class IdParamsDto extends createZodDto(IdParams) {}
export class ActivitiesDto extends createZodDto(ActivitiesBody) {}
export class CreateEventDto extends createZodDto(CreateEventBody) {}
export class UpdateEventDto extends createZodDto(UpdateEventBody) {}
export class EventsQueryDto extends createZodDto(EventsQuery) {}
export class CreateRewardDto extends createZodDto(CreateRewardBody) {}
export class ClaimsQueryDto extends createZodDto(ClaimsQuery) {}
export class RejectDto extends createZodDto(RejectBody) {}
export class PageQueryDto extends createZodDto(PageQuery.strict()) {}
export class AuditQueryDto extends createZodDto(AuditQuery) {}
