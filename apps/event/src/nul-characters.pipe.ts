import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { AppError } from '@rewards/infrastructure';

const MAX_REPORTED = 20;

/** Paths (`activities.0.attributes.note`) of strings or keys holding U+0000, depth first. */
function nulPaths(value: unknown, path: string[], found: string[]): string[] {
  if (found.length >= MAX_REPORTED) return found;
  if (typeof value === 'string') {
    if (value.includes('\u0000')) found.push(path.join('.'));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => nulPaths(v, [...path, String(i)], found));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) found.push([...path, k].join('.'));
      else nulPaths(v, [...path, k], found);
    }
  }
  return found;
}

/**
 * PostgreSQL's text and jsonb cannot hold U+0000, so a request carrying it would fail at the
 * insert or the query with a 500. It is bad input: answer 400 before it reaches the database.
 */
@Injectable()
export class NulCharactersPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    const paths = nulPaths(value, [], []);
    if (paths.length) {
      throw new AppError(
        'VALIDATION_FAILED',
        'Request is invalid',
        paths.map((p) => ({ path: p, code: 'invalid_format', message: 'must not contain the NUL character' })),
      );
    }
    return value;
  }
}
