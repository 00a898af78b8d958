import type { RigboxClient } from '../activities/index.js';
import type { RigsnapMetrics } from './metrics.js';

/**
 * Keeps `rigsnap_snapshots` and `rigsnap_snapshot_size_bytes` true after every change: the Rigbox
 * client reports each snapshot it created or deleted, and this lists that workspace's snapshots once
 * the changes settle (a prune deletes many: one listing for the lot) and sets both gauges. Before,
 * they changed only at start-up and with an audit ("1 shown while `list` showed 2").
 */
export class SnapshotGaugeRefresher {
  private client: RigboxClient | undefined;
  private readonly pending = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly metrics: RigsnapMetrics,
    /** Changes of one workspace within this are one listing. */
    private readonly settleMs = 250,
  ) {}

  /** The client to list with (the one whose changes are reported: it is created after this). */
  attach(client: RigboxClient): void {
    this.client = client;
  }

  /** A snapshot of the workspace was created or deleted. A failing listing is let go: the next change or audit sets the gauges. */
  changed = (workspaceId: string): void => {
    if (this.pending.has(workspaceId)) return;
    const timer = setTimeout(() => {
      this.pending.delete(workspaceId);
      void this.client
        ?.listSnapshots(workspaceId)
        .then((list) =>
          this.metrics.snapshotInventory(
            workspaceId,
            list.length,
            list.reduce((sum, s) => sum + s.size_bytes, 0),
          ),
        )
        .catch(() => undefined);
    }, this.settleMs);
    timer.unref();
    this.pending.set(workspaceId, timer);
  };
}
