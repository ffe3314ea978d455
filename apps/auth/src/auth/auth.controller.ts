import { Controller, Get } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { ClientIp, CurrentPrincipal, Endpoint, Input, type InputOf, type Principal } from '@rewards/infrastructure';
import { SigningKeyStore } from '../keys/signing-key.store.js';
import { AuthService } from './auth.service.js';

@Controller()
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly keys: SigningKeyStore,
  ) {}

  @Endpoint(routes.register)
  async register(@Input() { body }: InputOf<typeof routes.register>, @ClientIp() ip: string) {
    return { user: await this.auth.register(body, ip) };
  }

  @Endpoint(routes.login)
  login(@Input() { body }: InputOf<typeof routes.login>, @ClientIp() ip: string) {
    return this.auth.login(body, ip);
  }

  @Endpoint(routes.refresh)
  refresh(@Input() { body }: InputOf<typeof routes.refresh>) {
    return this.auth.refresh(body.refreshToken);
  }

  @Endpoint(routes.logout)
  async logout(@CurrentPrincipal() principal: Principal) {
    await this.auth.logout(principal);
  }

  @Endpoint(routes.me)
  async me(@CurrentPrincipal() principal: Principal) {
    return { user: await this.auth.me(principal) };
  }

  @Get('.well-known/jwks.json')
  jwks() {
    return this.keys.publicJwks;
  }
}
