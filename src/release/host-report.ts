/** How host:info names what it found (pure: tested as exact values). */

/** The engine's image store, from GET /info's DriverStatus: the containerd snapshotter, or the engine's own graph driver. */
export function describeImageStore(driverStatus: readonly (readonly [string, string])[]): { containerd: boolean; text: string } {
  const type = driverStatus.find(([key]) => key === 'driver-type')?.[1];
  const containerd = type?.startsWith('io.containerd.snapshotter') ?? false;
  return { containerd, text: containerd ? `containerd (${type})` : 'the engine\'s graph driver' };
}

/**
 * The builder a host build goes through (src/agent/build.ts): BuildKit through the buildx plugin
 * where the CLI has it; BuildKit built into the CLI before Docker 23 (DOCKER_BUILDKIT=1); else
 * the classic builder, which the build falls back to.
 */
export function describeBuilder(engineVersion: string | undefined, buildxVersion: string | undefined): string {
  if (buildxVersion) return `BuildKit (buildx ${/\bv?(\d+\.\d+\.\d+)/.exec(buildxVersion)?.[1] ?? buildxVersion})`;
  const major = Number(/^(\d+)\./.exec(engineVersion ?? '')?.[1]);
  if (major > 0 && major < 23) return 'BuildKit (built into the docker CLI)';
  return 'classic builder (no buildx plugin)';
}
