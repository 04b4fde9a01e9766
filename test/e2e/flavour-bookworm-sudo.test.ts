// The flavour suite (flavour.ts) on a bookworm-sudo host.
import { describeFlavour } from './flavour.js';

describeFlavour({
  label: 'bookworm-sudo',
  sandboxFlags: ['--user', 'admin'],
  engine: { version: /^20\.10\./, containerdStore: false, builder: /BuildKit \(built into the docker CLI\)/ },
  user: 'admin',
});
