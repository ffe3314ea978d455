import { ApiKeysQuery, CreateApiKeyBody, IdParams, LoginBody, RefreshBody, RegisterBody, SetRolesBody, UsersQuery } from '@rewards/contracts';
import { createZodDto } from 'nestjs-zod';

export class RegisterDto extends createZodDto(RegisterBody) {}
export class LoginDto extends createZodDto(LoginBody) {}
export class RefreshDto extends createZodDto(RefreshBody) {}
export class UsersQueryDto extends createZodDto(UsersQuery) {}
export class IdParamsDto extends createZodDto(IdParams) {}
export class SetRolesDto extends createZodDto(SetRolesBody) {}
export class CreateApiKeyDto extends createZodDto(CreateApiKeyBody) {}
export class ApiKeysQueryDto extends createZodDto(ApiKeysQuery) {}
