import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { AppError } from '@rewards/infrastructure';

const MAX_REPORTED = 20;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL could not store this text, if it could not. */
function problem(text: string): string | undefined {
  if (text.includes('\u0000')) return 'must not contain the NUL character';
  if (LONE_SURROGATE.test(text)) return 'must be well-formed Unicode (no lone surrogates)';
  return undefined;
}

interface Issue {
  path: string;
  code: 'invalid_format';
  message: string;
}

/** Strings and keys PostgreSQL cannot store, with their paths (`activities.0.attributes.note`), depth first. */
function unstorable(value: unknown, path: string[], found: Issue[]): Issue[] {
  if (found.length >= MAX_REPORTED) return found;
  const report = (at: string[], message: string | undefined) => {
    if (message) found.push({ path: at.join('.'), code: 'invalid_format', message });
    return message !== undefined;
  };
  if (typeof value === 'string') {
    report(path, problem(value));
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => unstorable(v, [...path, String(i)], found));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!report([...path, k], problem(k))) unstorable(v, [...path, k], found);
    }
  }
  return found;
}

/**
 * PostgreSQL's text and jsonb cannot hold U+0000, and jsonb refuses an unpaired UTF-16 surrogate,
 * so a request carrying either failed at the insert or the query with a 500 (or, in a text
 * column, had it silently replaced). It is bad input: answer 400 before it reaches the database.
 */
@Injectable()
export class StorableTextPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    const issues = unstorable(value, [], []);
    if (issues.length) throw new AppError('VALIDATION_FAILED', 'Request is invalid', issues);
    return value;
  }
}
