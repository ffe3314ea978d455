import { describe, expect, it } from 'vitest';
import { gatewayConfigShape, TrustProxy } from '../../src/config.js';

const issues = (value: string) => {
  const r = TrustProxy.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => i.message);
};

describe('TRUST_PROXY', () => {
  it('is a hop count; 0 and false trust nobody, and that is the default', () => {
    expect(TrustProxy.parse('0')).toBe(0);
    expect(TrustProxy.parse('false')).toBe(0);
    expect(TrustProxy.parse('FALSE')).toBe(0);
    expect(TrustProxy.parse('1')).toBe(1);
    expect(TrustProxy.parse(' 2 ')).toBe(2);
    expect(gatewayConfigShape.TRUST_PROXY.parse(undefined)).toBe(0);
  });

  it('or a comma-separated list of addresses and CIDRs', () => {
    expect(TrustProxy.parse('10.0.0.1')).toEqual(['10.0.0.1']);
    expect(TrustProxy.parse('10.0.0.0/8, 192.168.1.7,fd00::/8 , ::1')).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      'fd00::/8',
      '::1',
    ]);
    expect(TrustProxy.parse('loopback,uniquelocal')).toEqual(['loopback', 'uniquelocal']);
  });

  it('refuses true: trusting every hop lets any client choose its address', () => {
    for (const value of ['true', 'TRUE', ' true ']) {
      expect(issues(value)).toEqual([
        expect.stringMatching(/^`true` would trust every hop, so any client could choose its own address/),
      ]);
    }
  });

  it('refuses anything else, naming the bad entry', () => {
    expect(issues('-1')).toEqual([
      '"-1" is neither a hop count nor an IP address or CIDR (a hop count, or addresses/CIDRs comma-separated)',
    ]);
    expect(issues('1.5')).toEqual([expect.stringContaining('"1.5" is neither')]);
    expect(issues('10.0.0.0/33')).toEqual([expect.stringContaining('"10.0.0.0/33" is neither')]);
    expect(issues('10.0.0.1,,10.0.0.2')).toEqual([expect.stringContaining('"" is neither')]);
    expect(issues('10.0.0.1, gateway.local')).toEqual([expect.stringContaining('"gateway.local" is neither')]);
    expect(issues('yes')).toEqual([expect.stringContaining('"yes" is neither')]);
  });
});

describe('CLAIM_RATE_LIMIT_PER_MINUTE, METRICS_PORT, METRICS_HOST', () => {
  it('default to 60, 9464 and loopback; 0 turns the claim limit off; negatives are refused', () => {
    expect(gatewayConfigShape.CLAIM_RATE_LIMIT_PER_MINUTE.parse(undefined)).toBe(60);
    expect(gatewayConfigShape.CLAIM_RATE_LIMIT_PER_MINUTE.parse('0')).toBe(0);
    expect(gatewayConfigShape.CLAIM_RATE_LIMIT_PER_MINUTE.safeParse('-1').success).toBe(false);
    expect(gatewayConfigShape.CLAIM_RATE_LIMIT_PER_MINUTE.safeParse('1.5').success).toBe(false);
    expect(gatewayConfigShape.METRICS_PORT.parse(undefined)).toBe(9464);
    expect(gatewayConfigShape.METRICS_HOST.parse(undefined)).toBe('127.0.0.1');
  });
});
