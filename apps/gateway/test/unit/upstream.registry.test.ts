import { describe, expect, it } from 'vitest';
import { createLogger } from '@rewards/infrastructure';
import { UpstreamRegistry } from '../../src/upstream.registry.js';

const logger = createLogger('gateway', 'silent');

describe(UpstreamRegistry.name, () => {
  it('offers a single instance on every call, healthy or not', async () => {
    const sut = new UpstreamRegistry({ auth: ['http://127.0.0.1:1'], event: ['http://127.0.0.1:2'] }, logger);
    const [only] = sut.candidates('event');
    expect(only!.url).toBe('http://127.0.0.1:2');
    expect(sut.candidates('event').map((i) => i.url)).toEqual(['http://127.0.0.1:2']);
    sut.markDown(only!, 'test');
    expect(sut.candidates('event').map((i) => i.url)).toEqual(['http://127.0.0.1:2']);
    await sut.close();
  });

  it('takes several instances in turn, healthy ones first', async () => {
    const urls = ['http://127.0.0.1:11', 'http://127.0.0.1:12', 'http://127.0.0.1:13'];
    const sut = new UpstreamRegistry({ auth: ['http://127.0.0.1:1'], event: urls }, logger);
    const order = () => sut.candidates('event').map((i) => i.url.slice(-2));
    expect([order(), order(), order(), order()]).toEqual([
      ['11', '12', '13'],
      ['12', '13', '11'],
      ['13', '11', '12'],
      ['11', '12', '13'],
    ]);
    sut.markDown(sut.candidates('event').find((i) => i.url.endsWith('13'))!, 'test');
    // Turns go on (13, 11, 12 first); the instance down comes last.
    expect([order(), order(), order()]).toEqual([
      ['11', '12', '13'],
      ['11', '12', '13'],
      ['12', '11', '13'],
    ]);
    await sut.close();
  });
});
