/**
 * The language versions paas has base images for: those scripts/base-images.sh provides (Debian
 * bookworm's Python, Go and Ruby; any Node.js major from the npm package of its binary). The
 * first of each list is the default. An app asking for another version gets the nearest of these,
 * with a warning naming both.
 */
export const SUPPORTED_VERSIONS = {
  node: ['20', '22', '24'],
  python: ['3.11'],
  go: ['1.19'],
} as const;

/**
 * The supported "major.minor" nearest to `requested` ("3.12", "1.6"), the newer one on a tie;
 * undefined when none has the same major (Python 2 is not Python 3).
 */
export function nearestMinor(requested: string, supported: readonly string[]): string | undefined {
  const [major, minor] = requested.split('.').map(Number) as [number, number];
  let best: { version: string; distance: number; minor: number } | undefined;
  for (const version of supported) {
    const [candidateMajor, candidateMinor] = version.split('.').map(Number) as [number, number];
    if (candidateMajor !== major) continue;
    const distance = Math.abs(candidateMinor - minor);
    if (!best || distance < best.distance || (distance === best.distance && candidateMinor > best.minor)) {
      best = { version, distance, minor: candidateMinor };
    }
  }
  return best?.version;
}

/** The supported major nearest to any of `allowed` (majors a range allows), the newer one on a tie. */
export function nearestMajor(allowed: readonly number[], supported: readonly number[]): number | undefined {
  let best: { major: number; distance: number } | undefined;
  for (const major of supported) {
    const distance = Math.min(...allowed.map((candidate) => Math.abs(candidate - major)));
    if (!best || distance < best.distance || (distance === best.distance && major > best.major)) best = { major, distance };
  }
  return allowed.length === 0 ? undefined : best?.major;
}
