/**
 * A Dockerfile cut in two at its `# paas:source` line. The dependency part (everything above)
 * is built where paas runs and shipped once as an image; the source part (everything below) is
 * built on each host FROM that image, so a deploy that changes only code ships the code.
 */
export const SOURCE_MARKER = /^#\s*paas:source\b/;

export interface SplitDockerfile {
  /** The lines above the marker: ends in the stage the marker is in. */
  deps: string;
  /** Image references the source part starts FROM besides the dependency image (later stages). */
  baseImages: string[];
  /** The source part, FROM the given dependency image reference. */
  source: (depsImage: string) => string;
}

const FROM = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?\s*$/i;
const ARG = /^ARG\s/i;
const COPY_FROM = /^(?:COPY|ADD)\s+(?:--\S+\s+)*--from=(\S+)/i;

/** Joins `\` continuation lines so every instruction is one logical line (for the checks only). */
function instructions(lines: string[]): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of lines) {
    if (current === '' && /^\s*(#|$)/.test(line)) continue;
    current += line.replace(/\\\s*$/, ' ');
    if (!/\\\s*$/.test(line)) {
      out.push(current.trim());
      current = '';
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}

/**
 * Splits at the first `# paas:source` line; a reason (string) when the file has none or cannot
 * be cut there (the source part would need a stage of the dependency part other than its last).
 */
export function splitDockerfile(text: string): SplitDockerfile | string {
  const lines = text.replace(/\n$/, '').split('\n');
  const at = lines.findIndex((line) => SOURCE_MARKER.test(line.trim()));
  if (at < 0) return 'it has no `# paas:source` line';
  const above = lines.slice(0, at);
  const below = lines.slice(at + 1);
  const aboveInstructions = instructions(above);
  const stages = aboveInstructions.map((i) => FROM.exec(i)).filter((m): m is RegExpExecArray => m !== null);
  const last = stages[stages.length - 1];
  if (!last) return 'its `# paas:source` line comes before the first FROM';
  const stageName = last[2];
  const earlierStages = new Set(stages.slice(0, -1).map((m) => m[2]?.toLowerCase()).filter((n): n is string => !!n));
  const belowInstructions = instructions(below);
  const laterStages = new Set<string>([...(stageName ? [stageName.toLowerCase()] : [])]);
  const baseImages: string[] = [];
  for (const instruction of belowInstructions) {
    const from = FROM.exec(instruction);
    if (from) {
      const ref = from[1]!;
      if (earlierStages.has(ref.toLowerCase())) return `a stage below \`# paas:source\` starts FROM ${ref}, a stage above it`;
      if (!laterStages.has(ref.toLowerCase()) && ref.toLowerCase() !== 'scratch' && !baseImages.includes(ref)) baseImages.push(ref);
      if (from[2]) laterStages.add(from[2].toLowerCase());
    }
    const copyFrom = COPY_FROM.exec(instruction);
    if (copyFrom && earlierStages.has(copyFrom[1]!.toLowerCase())) {
      return `a line below \`# paas:source\` copies from ${copyFrom[1]}, a stage above it`;
    }
    if (/\$/.test(from?.[1] ?? '')) return 'a FROM below `# paas:source` uses a variable';
  }
  // Global ARGs (before the first FROM) may be used by FROM lines below the marker,
  // and ARGs of the marker's stage by the lines below it: both are declared again.
  const fromLines = above.flatMap((line, index) => (FROM.test(line.trim()) ? [index] : []));
  const globalArgs = above.slice(0, fromLines[0]).filter((line) => ARG.test(line.trim()));
  const stageArgs = above.slice(fromLines[fromLines.length - 1]! + 1).filter((line) => ARG.test(line.trim()));
  return {
    deps: `${above.join('\n')}\n`,
    baseImages,
    source: (depsImage) => [
      ...globalArgs,
      `FROM ${depsImage}${stageName ? ` AS ${stageName}` : ''}`,
      ...stageArgs,
      ...below,
    ].join('\n').concat('\n'),
  };
}
