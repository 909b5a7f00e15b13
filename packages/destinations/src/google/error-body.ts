/**
 * Google's JSON error body, the same on every Google API behind the one front end (Drive,
 * Cloud Storage, YouTube): `{ "error": { "code", "message", "errors": [{ "domain",
 * "reason", "message" }], "status" } }`. The `reason` is what tells a quota apart from a
 * missing folder; the message is the platform's own words for the user
 * (https://developers.google.com/workspace/drive/api/guides/handle-errors,
 * https://cloud.google.com/storage/docs/json_api/v1/status-codes).
 */
export interface GoogleErrorBody {
  code?: number;
  message?: string;
  status?: string;
  errors?: { domain?: string; reason?: string; message?: string }[];
}

/** The `error` object of an answer body, or undefined when the body is not Google's error JSON. */
export function googleErrorOf(body: string): GoogleErrorBody | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return parsed && typeof parsed.error === 'object' && parsed.error !== null ? (parsed.error as GoogleErrorBody) : undefined;
  } catch {
    return undefined;
  }
}

/** The `reason`s of an error body, in order. */
export function reasonsOf(error: GoogleErrorBody | undefined): string[] {
  return (error?.errors ?? []).map((e) => e.reason).filter((r): r is string => typeof r === 'string');
}

/** How much of the platform's message a FleetError quotes. */
const QUOTED_MAX_CHARS = 300;

/**
 * `: "<the platform's message>" (<reason>)`, or '' without a Google error body. Google's
 * messages may carry HTML (`<a href>`, `<code>`); the text alone is kept, clipped.
 */
export function platformSaid(error: GoogleErrorBody | undefined): string {
  const reasons = reasonsOf(error);
  const raw = error?.message ?? error?.errors?.[0]?.message;
  if (!raw && reasons.length === 0) return '';
  const text = (raw ?? '')
    .replace(/<[^>]*>/g, '')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\.$/, '');
  const clipped = text.length > QUOTED_MAX_CHARS ? `${text.slice(0, QUOTED_MAX_CHARS - 3)}...` : text;
  const reason = reasons[0] ? ` (${reasons[0]})` : '';
  return clipped ? `: "${clipped}"${reason}` : reason;
}
