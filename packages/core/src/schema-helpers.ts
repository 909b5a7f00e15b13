import { z } from 'zod';

/** A non-empty string; the message names what is missing. */
export const requiredString = (what: string) =>
  z.string({ error: (issue) => (issue.input === undefined ? `${what} is required` : `${what} must be a string`) }).trim().min(1, `${what} must not be empty`);

export const httpUrl = (what: string) =>
  z
    .string({ error: `${what} must be a URL string` })
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === 'http:' || url.protocol === 'https:';
      } catch {
        return false;
      }
    }, `${what} must be an absolute http:// or https:// URL`);

/** Header names and values as HTTP allows them; rejects CR/LF injection. */
export const headerRecord = z.record(
  z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'header names may only contain token characters'),
  z.string().regex(/^[^\r\n]*$/, 'header values must not contain line breaks'),
);

/**
 * Options for an object's `superRefine` so its cross-field check runs even when a field
 * already failed: zod skips refinements after such failures by default, and the user would
 * learn about the next problem only after fixing the first. Every problem is listed at once.
 */
export const evenWithOtherProblems = {
  when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null && !Array.isArray(payload.value),
};
