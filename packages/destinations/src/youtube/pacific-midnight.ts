/**
 * When the YouTube Data API quota resets: "Daily quotas reset at midnight Pacific Time"
 * (https://developers.google.com/youtube/v3/getting-started#quota). Pacific Time is
 * America/Los_Angeles with its daylight-saving switches, so the wait is computed with the
 * time-zone database through Intl rather than with a fixed UTC offset: on the days the
 * clocks change, a fixed offset would be an hour off.
 */

const pacific = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/Los_Angeles',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

/** The wall-clock time in Los Angeles at `instant`, read as if it were UTC (milliseconds dropped). */
function pacificWallClockAsUtc(instant: number): number {
  const parts: Record<string, number> = {};
  for (const part of pacific.formatToParts(instant)) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/** How far Los Angeles' clocks are from UTC at `instant` (-8 h in winter, -7 h in summer). */
function pacificOffsetMs(instant: number): number {
  return pacificWallClockAsUtc(instant) - (instant - (((instant % 1000) + 1000) % 1000));
}

/** The first midnight in Los Angeles strictly after `now`. */
export function nextPacificMidnight(now: Date): Date {
  const wall = new Date(pacificWallClockAsUtc(now.getTime()));
  // Tomorrow 00:00 on Los Angeles' calendar, still read as UTC.
  const midnightWall = Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate() + 1);
  // The offset at that midnight can differ from the one now (the clocks change at 2 am on
  // a Sunday): take the offset at the first guess, then at the corrected one. Midnight is
  // never skipped or repeated in Los Angeles, so this settles after the second step.
  let guess = midnightWall - pacificOffsetMs(now.getTime());
  guess = midnightWall - pacificOffsetMs(guess);
  return new Date(guess);
}

/** Milliseconds from `now` until the next midnight Pacific Time. */
export function msUntilPacificMidnight(now: Date): number {
  return nextPacificMidnight(now).getTime() - now.getTime();
}
