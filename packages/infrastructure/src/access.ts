import {
  applyDecorators,
  type CanActivate,
  createParamDecorator,
  Delete,
  type ExecutionContext,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Patch,
  Post,
  Put,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { allows, toRouterPath, type RouteDef } from '@rewards/contracts';
import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.js';
import { ROUTE_KEY } from './input.js';
import { TOKEN_VERIFIER, type Principal, type TokenVerifier } from './principal.js';

const METHOD = { GET: Get, POST: Post, PUT: Put, PATCH: Patch, DELETE: Delete } as const;

/** Binds a controller method to its contract route: method, path, success status and access policy. */
export function Endpoint(route: RouteDef) {
  return applyDecorators(
    METHOD[route.method](toRouterPath(route.path)),
    HttpCode(route.status),
    SetMetadata(ROUTE_KEY, route),
  );
}

export function bearerToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{1,4096})$/i.exec(header.trim());
  return m?.[1];
}

/** The access decision shared by the gateway and the services. */
export async function authorize(
  route: RouteDef,
  authorization: string | string[] | undefined,
  verifier: TokenVerifier,
): Promise<Principal | undefined> {
  if (route.access === 'public') return undefined;
  const token = bearerToken(authorization);
  if (!token) throw new AppError('UNAUTHENTICATED', 'Sign in first: send Authorization: Bearer <accessToken>');
  const principal = await verifier.verify(token);
  if (principal.kind === 'api-key') {
    if (route.apiKeyScope && principal.scopes?.includes(route.apiKeyScope)) return principal;
    throw new AppError(
      'FORBIDDEN',
      route.apiKeyScope
        ? `This API key lacks the scope ${route.apiKeyScope}`
        : 'API keys are not accepted on this route',
    );
  }
  if (!allows(route.access, principal.roles)) {
    throw new AppError('FORBIDDEN', `Requires one of the roles: ${(route.access as string[]).join(', ')}`);
  }
  return principal;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(TOKEN_VERIFIER) private readonly verifier: TokenVerifier,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const route = this.reflector.get<RouteDef | undefined>(ROUTE_KEY, ctx.getHandler());
    if (!route) return true;
    const req = ctx.switchToHttp().getRequest<FastifyRequest>();
    req.principal = await authorize(route, req.headers.authorization, this.verifier);
    return true;
  }
}

export const CurrentPrincipal = createParamDecorator((_data: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<FastifyRequest>().principal;
  if (!principal) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  return principal;
});

export const RequestId = createParamDecorator((_data: unknown, ctx: ExecutionContext): string =>
  String(ctx.switchToHttp().getRequest<FastifyRequest>().id),
);

/** The client's address as createServiceApp resolved it (the gateway's word only with the internal secret). */
export const ClientIp = createParamDecorator((_data: unknown, ctx: ExecutionContext): string => {
  const req = ctx.switchToHttp().getRequest<FastifyRequest>();
  return req.clientIp || req.ip;
});
