// The flavour suite (flavour.ts) on a trixie-containerd host.
import { describeFlavour } from './flavour.js';

describeFlavour({
  label: 'trixie-containerd',
  sandboxFlags: ['--flavour', 'trixie', '--containerd-store'],
  engine: { version: /^26\./, containerdStore: true, builder: /BuildKit \(buildx/ },
  user: 'root',
});
