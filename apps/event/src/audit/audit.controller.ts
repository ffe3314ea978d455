import { Controller } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { Endpoint, Input, type InputOf } from '@rewards/infrastructure';
import { AuditService } from './audit.service.js';

@Controller()
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Endpoint(routes.auditLog)
  list(@Input() { query }: InputOf<typeof routes.auditLog>) {
    return this.audit.list(query);
  }

  @Endpoint(routes.verifyAuditLog)
  verify() {
    return this.audit.verify();
  }
}
