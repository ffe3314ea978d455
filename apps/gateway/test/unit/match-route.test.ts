import { routeList, routes } from '@rewards/contracts';
import { describe, expect, it } from 'vitest';
import { apiPath, matchPath, matchRoute } from '../../src/api.proxy.js';

describe(matchRoute.name, () => {
  it('finds the contract route for a method and a concrete path', () => {
    expect(matchRoute('POST', '/auth/login')).toEqual({ id: 'login', ...routes.login });
    expect(matchRoute('GET', '/users')).toEqual({ id: 'listUsers', ...routes.listUsers });
    expect(matchRoute('PUT', '/users/0b1e0c5e-5b1a-4c1e-9a51-2f1f7a3f0c11/roles')).toEqual({
      id: 'setRoles',
      ...routes.setRoles,
    });
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

describe(apiPath.name, () => {
  it('takes the part below /api/v1 only when the raw path starts with /api/v1/ as written', () => {
    expect(apiPath('/api/v1/users?role=ADMIN')).toEqual({ raw: '/api/v1/users', path: '/users' });
    expect(apiPath('/api/v1/')).toEqual({ raw: '/api/v1/', path: '/' });
    // What the router decodes to /api/v1/… is not /api/v1/… here: never sliced into `/api/v1v1/users`.
    expect(apiPath('/%61pi/v1/users')).toEqual({ raw: '/%61pi/v1/users', path: undefined });
    expect(apiPath('/api/v1%2Fusers')).toEqual({ raw: '/api/v1%2Fusers', path: undefined });
    expect(apiPath('/api/v1')).toEqual({ raw: '/api/v1', path: undefined });
  });
});

describe(matchPath.name, () => {
  const id = '0b1e0c5e-5b1a-4c1e-9a51-2f1f7a3f0c11';

  it('decodes parameters, and an encoded slash stays inside its parameter', () => {
    expect(matchPath('GET', `/events/%30${id.slice(1)}`)).toEqual({
      route: { id: 'getEvent', ...routes.getEvent },
      params: { id },
    });
    expect(matchPath('POST', `/events/${id}/claims`)).toEqual({
      route: { id: 'createClaim', ...routes.createClaim },
      params: { id },
    });
    expect(matchPath('GET', `/events/${id}%2Fclaims`)).toEqual({
      route: { id: 'getEvent', ...routes.getEvent },
      params: { id: `${id}/claims` },
    });
    expect(matchPath('POST', `/events/${id}%2Fclaims`)).toBeUndefined();
  });

  it('matches literal segments only as written', () => {
    expect(matchPath('GET', '/%75sers')).toBeUndefined();
    expect(matchPath('GET', '/auth/%6De')).toBeUndefined();
  });

  it('matches nothing for a dot segment or a parameter that does not decode', () => {
    expect(matchPath('GET', '/events/..')).toBeUndefined();
    expect(matchPath('GET', '/events/%2e%2E')).toBeUndefined();
    expect(matchPath('POST', '/events/./claims')).toBeUndefined();
    expect(matchPath('GET', '/events/%E0%A4%A')).toBeUndefined();
    expect(matchPath('GET', '/events/%ZZ')).toBeUndefined();
  });
});

describe('matchPath over the whole route table', () => {
  const id = '0b1e0c5e-5b1a-4c1e-9a51-2f1f7a3f0c11';

  it('finds every contract route by its own method and path', () => {
    for (const route of routeList) {
      const path = route.path.replace(/\{\w+\}/g, id);
      expect({ id: route.id, found: matchRoute(route.method, path)?.id }).toEqual({ id: route.id, found: route.id });
    }
  });

  it('finds nothing for a method no route has', () => {
    for (const method of ['HEAD', 'OPTIONS', 'TRACE', 'get'])
      expect({ method, found: matchPath(method, `/events/${id}`) }).toEqual({ method, found: undefined });
  });
});
