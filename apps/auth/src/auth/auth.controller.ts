import { Body, Controller, Get } from '@nestjs/common';
import { routes } from '@rewards/contracts';
import { ClientIp, CurrentPrincipal, Endpoint, type Principal } from '@rewards/infrastructure';
import { LoginDto, RefreshDto, RegisterDto } from '../dto.js';
import { KeyStore } from '../keys/key-store.js';
import { AuthService } from './auth.service.js';

@Controller()
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly keys: KeyStore,
  ) {}

  @Endpoint(routes.register)
  async register(@Body() body: RegisterDto, @ClientIp() ip: string) {
    return { user: await this.auth.register(body, ip) };
  }

  @Endpoint(routes.login)
  login(@Body() body: LoginDto, @ClientIp() ip: string) {
    return this.auth.login(body, ip);
  }

  @Endpoint(routes.refresh)
  refresh(@Body() body: RefreshDto) {
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
