import type { FastifyInstance } from 'fastify';
import { unsafeInputProblems } from '@upload-fleet/core';
import { invalidRequest } from './errors.js';

/**
 * Makes JSON the only body the API accepts, and gives a parse failure a 400 that says
 * where the JSON broke without quoting it (V8's messages include a piece of the input,
 * and a request body may hold credentials).
 *
 * - text/plain (a Fastify default) is removed: anything but application/json is a 415.
 * - An empty body with Content-Type application/json counts as no body, so a client that
 *   always sets the header can still POST .../retry; POST /v1/deliveries then answers
 *   400 for the missing fields.
 * - `__proto__` and `constructor` keys, and text that is not well-formed Unicode (a lone
 *   UTF-16 surrogate), are refused with the field path (`unsafeInputProblems` of core).
 */
export function registerJsonBodyParser(app: FastifyInstance): void {
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      // JSON.parse makes "__proto__" an own property, never the prototype; the check below
      // then names the key's path (Fastify's safe parser could only say "(body)").
      parsed = JSON.parse(text);
    } catch (error) {
      return done(invalidRequest([{ path: '(body)', message: `the body is not valid JSON: ${safeReason((error as Error).message)}` }]), undefined);
    }
    const problems = unsafeInputProblems(parsed);
    if (problems.length > 0) return done(invalidRequest(problems), undefined);
    done(null, parsed);
  });
}

/** V8's reason and position, without the piece of input some of its messages quote. */
function safeReason(message: string): string {
  if (message.startsWith('Unexpected end of JSON input')) return 'it ends before the JSON is complete';
  const positioned = /^(.*?)(?: in JSON)? at position (\d+)(?: \(line (\d+) column (\d+)\))?/.exec(message);
  if (positioned) {
    // The positioned messages are fixed phrases; one that quotes input (double quotes) is not used.
    const phrase = (positioned[1] ?? '').trim();
    const reason = phrase && !phrase.includes('"') && phrase.length <= 80 ? phrase : 'unexpected input';
    const where = positioned[3] ? `line ${positioned[3]} column ${positioned[4]}` : `position ${positioned[2]}`;
    return `${lowerFirst(reason)} at ${where}`;
  }
  if (message.startsWith('Unexpected token')) return 'unexpected character (is it JSON at all?)';
  return 'it could not be parsed';
}

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}
