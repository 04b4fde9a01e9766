// The flavour suite (flavour.ts) on a trixie host.
import { describeFlavour } from './flavour.js';

describeFlavour({
  label: 'trixie',
  sandboxFlags: ['--flavour', 'trixie'],
  engine: { version: /^26\./, containerdStore: false, builder: /BuildKit \(buildx/ },
  user: 'root',
  classicFallback: true,
});
