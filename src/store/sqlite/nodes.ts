/**
 * The SQLite store's boots (the `nodes` table) and the pages each holds:
 * heartbeats, the expired boots a reaper forgets, and the open pages of a
 * node or of one boot that it then closes (presence.ts `closePage`, guarded
 * by the boot). A forgotten boot is remembered for a day (REAPED_MEMORY_MS),
 * so that its late heartbeat hears it was reaped.
 */
import { REAPED_MEMORY_MS, REAPED_SCAN, type NodeRef, type PresenceStore } from '../../core/store.js';
import type { SqliteContext } from './context.js';
import { toHeld, toNode, type HeldPageRow } from './rows.js';

export type NodeMethods = Pick<
  PresenceStore,
  'heartbeat' | 'expiredNodes' | 'forgetNode' | 'pagesHeldBy' | 'pagesOfBoot' | 'pageHolders' | 'reapedBootsWithPages'
>;

export function sqliteNodes({ db, write }: SqliteContext): NodeMethods {
  const stmt = {
    pagesHeldBy: db.prepare<{ nodeId: string; exceptBootId: string | null; limit: number }, HeldPageRow>(
      `SELECT page_id, visit_id, node_id, boot_id FROM pages
       WHERE node_id = @nodeId AND closed_at IS NULL AND (@exceptBootId IS NULL OR boot_id <> @exceptBootId)
       ORDER BY boot_id, page_id LIMIT @limit`,
    ),
    pagesOfBoot: db.prepare<{ nodeId: string; bootId: string; limit: number }, HeldPageRow>(
      `SELECT page_id, visit_id, node_id, boot_id FROM pages
       WHERE node_id = @nodeId AND boot_id = @bootId AND closed_at IS NULL ORDER BY page_id LIMIT @limit`,
    ),
    pageHolder: db.prepare<[string], { node_id: string }>(
      `SELECT node_id FROM pages WHERE page_id = ? AND node_id IS NOT NULL`,
    ),
    visitHolders: db.prepare<[string], { node_id: string }>(
      `SELECT DISTINCT node_id FROM pages WHERE visit_id = ? AND closed_at IS NULL AND node_id IS NOT NULL
       ORDER BY node_id`,
    ),
    getNode: db.prepare<[string, string], { expires_at: number; reaped_at: number | null }>(
      `SELECT expires_at, reaped_at FROM nodes WHERE node_id = ? AND boot_id = ?`,
    ),
    registerNode: db.prepare(
      `INSERT INTO nodes (node_id, boot_id, expires_at) VALUES (@nodeId, @bootId, @expiresAt)
       ON CONFLICT (node_id, boot_id) DO UPDATE SET expires_at = excluded.expires_at WHERE reaped_at IS NULL`,
    ),
    expiredNodes: db.prepare<{ now: number; limit: number }, { node_id: string; boot_id: string }>(
      `SELECT node_id, boot_id FROM nodes WHERE reaped_at IS NULL AND expires_at < @now
       ORDER BY expires_at, node_id, boot_id LIMIT @limit`,
    ),
    reapNode: db.prepare(
      `UPDATE nodes SET reaped_at = @now
       WHERE node_id = @nodeId AND boot_id = @bootId AND reaped_at IS NULL AND expires_at < @now`,
    ),
    reapedBootsWithPages: db.prepare<
      { since: number; limit: number; scan: number },
      { node_id: string; boot_id: string }
    >(
      `SELECT node_id, boot_id FROM (
         SELECT node_id, boot_id, reaped_at FROM nodes WHERE reaped_at IS NOT NULL AND reaped_at >= @since
         ORDER BY reaped_at DESC, node_id, boot_id LIMIT @scan) AS reaped
       WHERE EXISTS (SELECT 1 FROM pages WHERE pages.node_id = reaped.node_id AND pages.boot_id = reaped.boot_id
                     AND pages.closed_at IS NULL)
       ORDER BY reaped_at DESC, node_id, boot_id LIMIT @limit`,
    ),
    pruneReaped: db.prepare(`DELETE FROM nodes WHERE reaped_at IS NOT NULL AND reaped_at < ?`),
  };

  /** A boot heard of first registers; a forgotten one stays forgotten. */
  const heartbeat = db.transaction((node: NodeRef, expiresAt: number): 'alive' | 'reaped' => {
    if (stmt.getNode.get(node.nodeId, node.bootId)?.reaped_at != null) return 'reaped';
    stmt.registerNode.run({ ...node, expiresAt });
    return 'alive';
  });

  const forgetNode = db.transaction((node: NodeRef, now: number): boolean => {
    if (stmt.reapNode.run({ ...node, now }).changes === 0) return false;
    stmt.pruneReaped.run(now - REAPED_MEMORY_MS);
    return true;
  });

  return {
    async heartbeat(node, expiresAt) {
      return write(() => heartbeat(node, expiresAt));
    },
    async expiredNodes(now, limit) {
      return stmt.expiredNodes.all({ now, limit }).map(toNode);
    },
    async forgetNode(node, now) {
      return write(() => forgetNode(node, now));
    },
    async pagesHeldBy(nodeId, exceptBootId, limit) {
      return stmt.pagesHeldBy.all({ nodeId, exceptBootId, limit }).map(toHeld);
    },
    async pagesOfBoot(node, limit) {
      return stmt.pagesOfBoot.all({ ...node, limit }).map(toHeld);
    },
    async pageHolders(target) {
      if ('pageId' in target) return stmt.pageHolder.all(target.pageId).map((row) => row.node_id);
      return stmt.visitHolders.all(target.visitId).map((row) => row.node_id);
    },
    async reapedBootsWithPages(since, limit, scan = REAPED_SCAN) {
      return stmt.reapedBootsWithPages.all({ since, limit, scan }).map(toNode);
    },
  };
}
