import type { AppConfig } from '../config/index.js';
import type { Catalogue } from './catalogue.js';
import type { CatalogueRepository } from './catalogue.repository.js';
import { CatalogueService } from './catalogue.service.js';

describe('CatalogueService reloads', () => {
  it('installs the newest table last: a periodic reload that read before a change cannot overwrite the change', async () => {
    const installed: string[] = [];
    const catalogue = { replace: (entries: { id: string }[]) => installed.push(entries[0]!.id), all: () => [] };
    let table = 'v0';
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let loads = 0;
    const repository = {
      fingerprint: async () => table,
      // The first load (the timer's) reads the old table, then is slow to come back.
      load: async () => {
        const read = table;
        if (loads++ === 0) await gate;
        return [{ id: read }];
      },
    };
    const service = new CatalogueService(
      catalogue as unknown as Catalogue,
      repository as unknown as CatalogueRepository,
      { catalogue: { refreshMs: 60_000 } } as AppConfig,
    );
    const periodic = service.refresh();
    await new Promise((resolve) => setImmediate(resolve));
    table = 'v1'; // a new version committed; its own reload follows
    const afterCommit = service.refresh();
    await new Promise((resolve) => setImmediate(resolve));
    openGate();
    await Promise.all([periodic, afterCommit]);
    expect(installed).toEqual(['v0', 'v1']);
  });
});
