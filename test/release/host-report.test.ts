import { describe, expect, it } from 'vitest';
import { describeBuilder, describeImageStore } from '../../src/release/host-report.js';

describe('host:info wording', () => {
  it('names the image store from the engine\'s DriverStatus', () => {
    expect(describeImageStore([['driver-type', 'io.containerd.snapshotter.v1']])).toEqual({ containerd: true, text: 'containerd (io.containerd.snapshotter.v1)' });
    expect(describeImageStore([['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']])).toEqual({ containerd: false, text: 'the engine\'s graph driver' });
    expect(describeImageStore([])).toEqual({ containerd: false, text: 'the engine\'s graph driver' });
  });

  it('names the builder: buildx where the CLI has it, BuildKit in the CLI before 23, else the classic builder', () => {
    expect(describeBuilder('26.1.5+dfsg1', 'github.com/docker/buildx 0.13.1+ds1 0.13.1+ds1-3')).toBe('BuildKit (buildx 0.13.1)');
    expect(describeBuilder('29.0.1', 'github.com/docker/buildx v0.29.1 a1b2c3')).toBe('BuildKit (buildx 0.29.1)');
    expect(describeBuilder('20.10.24+dfsg1', undefined)).toBe('BuildKit (built into the docker CLI)');
    expect(describeBuilder('26.1.5+dfsg1', undefined)).toBe('classic builder (no buildx plugin)');
    expect(describeBuilder(undefined, undefined)).toBe('classic builder (no buildx plugin)');
  });
});
