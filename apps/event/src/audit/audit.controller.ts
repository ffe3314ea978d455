import { Controller, Query } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { Endpoint } from '@rewards/infrastructure';
import { AuditQueryDto } from '../dto.js';
import { AuditRepository } from './audit.repository.js';

@Controller()
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  @Endpoint(routes.auditLog)
  list(@Query() query: AuditQueryDto) {
    return this.audit.list(query);
  }

  @Endpoint(routes.verifyAuditLog)
  verify() {
    return this.audit.verify();
  }
}
