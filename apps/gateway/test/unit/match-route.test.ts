import { routes } from '@rewards/contracts';
import { describe, expect, it } from 'vitest';
import { matchRoute } from '../../src/proxy.js';

describe(matchRoute.name, () => {
  it('finds the contract route for a method and a concrete path', () => {
    expect(matchRoute('POST', '/auth/login')).toEqual({ id: 'login', ...routes.login });
    expect(matchRoute('GET', '/users')).toEqual({ id: 'listUsers', ...routes.listUsers });
    expect(matchRoute('PUT', '/users/0b1e0c5e-5b1a-4c1e-9a51-2f1f7a3f0c11/roles')).toEqual({ id: 'setRoles', ...routes.setRoles });
  });

  it('tells routes on one path apart by method', () => {
    expect(matchRoute('GET', '/auth/login')).toBeUndefined();
    expect(matchRoute('DELETE', '/users')).toBeUndefined();
  });

  it('finds nothing for unknown paths', () => {
    expect(matchRoute('GET', '/')).toBeUndefined();
    expect(matchRoute('GET', '/internal/revocations')).toBeUndefined();
    expect(matchRoute('PUT', '/users/roles')).toBeUndefined();
  });

  it('accepts a trailing slash', () => {
    expect(matchRoute('GET', '/auth/me/')).toEqual({ id: 'me', ...routes.me });
  });
});
