import type { Redis } from 'ioredis';
import type { EarningsEvent, GiftEvent, RoomClosedEvent, WalletEvent } from './events.js';

export type RelayedUserEvent =
  | { userId: string; event: 'wallet'; payload: WalletEvent }
  | { userId: string; event: 'earnings'; payload: EarningsEvent };

/** What one gateway node tells the others in a tick. */
export interface RelayBatch {
  gifts: GiftEvent[];
  userEvents: RelayedUserEvent[];
  /** Rooms closed through the writing node, after this batch's gifts. Absent in batches of nodes that predate it. */
  closedRooms?: RoomClosedEvent[];
}

export interface NodeRelayOptions {
  tickMs: number;
  /**
   * How long the stream keeps a batch: a node whose reader was cut off for less than this
   * (a reconnect, a Redis failover) still gets every batch of the gap when it is back.
   */
  retentionMs?: number;
  /** How long one blocking read waits before it asks again. */
  blockMs?: number;
  /** A batch this node could not deliver (a bug here, not the writer's): reported, then the next one. */
  onDeliveryError?: (error: unknown) => void;
}

type StreamReply = [key: string, entries: [id: string, fields: string[]][]][] | null;

/**
 * Live delivery across gateway nodes. A node's sockets are its own, so the gifts it charges
 * and the wallet and earnings updates it learns of are also appended, once per tick, to one
 * Redis stream; every other node reads it and delivers them to its own members. A stream,
 * not pub/sub: pub/sub drops whatever is published while a subscriber reconnects, so members
 * on that node would miss gifts, where a reader of the stream resumes after the last batch
 * it read. While no other gateway is alive nothing is collected or appended, so a single
 * node pays nothing.
 */
export class NodeRelay {
  private gifts: GiftEvent[] = [];
  private userEvents: RelayedUserEvent[] = [];
  private closedRooms: RoomClosedEvent[] = [];
  private otherNodes = 0;
  private readonly timer: NodeJS.Timeout;
  private reading: Promise<void> | null = null;
  private running = false;
  private readonly retentionMs: number;
  private readonly blockMs: number;
  private readonly onDeliveryError: (error: unknown) => void;

  /**
   * `reader` null: this server is no peer of the other gateways (GATEWAY_RELAY=off, the
   * bench's baseline); it is still listed as a live gateway, but under a `solo:` name that
   * the others do not count. The reader is a connection of its own: a blocking read holds it.
   */
  constructor(private readonly writer: Redis, private readonly reader: Redis | null, private readonly stream: string,
    readonly nodeId: string, private readonly receive: (batch: RelayBatch) => void, options: NodeRelayOptions) {
    this.retentionMs = options.retentionMs ?? 60_000;
    this.blockMs = options.blockMs ?? 1_000;
    this.onDeliveryError = options.onDeliveryError ?? (() => {});
    this.timer = setInterval(() => this.flush(), options.tickMs);
    this.timer.unref();
  }

  /** Starts reading after the stream's current end: a node delivers what is sent from now on. */
  async start(): Promise<void> {
    if (this.reader === null || this.running) return;
    const [last] = await this.reader.xrevrange(this.stream, '+', '-', 'COUNT', 1);
    this.running = true;
    this.reading = this.readFrom(last?.[0] ?? '0-0');
  }

  /** This node's name in the live gateways' list. */
  get gatewayName(): string {
    return this.reader === null ? `solo:${this.nodeId}` : this.nodeId;
  }

  /** Told by the heartbeat which gateways are alive: the others that relay are its peers. */
  seeGateways(names: readonly string[]): void {
    if (this.reader === null) return;
    this.otherNodes = names.filter((name) => name !== this.nodeId && !name.startsWith('solo:')).length;
  }

  get shared(): boolean {
    return this.otherNodes > 0;
  }

  gift(event: GiftEvent): void {
    if (this.otherNodes > 0) this.gifts.push(event);
  }

  userEvent(event: RelayedUserEvent): void {
    if (this.otherNodes > 0) this.userEvents.push(event);
  }

  roomClosed(event: RoomClosedEvent): void {
    if (this.otherNodes > 0) this.closedRooms.push(event);
  }

  flush(): void {
    if (this.gifts.length === 0 && this.userEvents.length === 0 && this.closedRooms.length === 0) return;
    const batch: RelayBatch = { gifts: this.gifts, userEvents: this.userEvents };
    if (this.closedRooms.length > 0) batch.closedRooms = this.closedRooms;
    this.gifts = [];
    this.userEvents = [];
    this.closedRooms = [];
    // Trimmed by age as it is appended (MINID, approximate: whole nodes of the stream go).
    const oldestKeptMs = Math.max(0, Date.now() - this.retentionMs);
    // Live delivery is best effort across a Redis outage, as on one node; the money is not.
    // The key expires with its last batch, so a stream whose nodes have all gone does not linger.
    void this.writer.pipeline()
      .xadd(this.stream, 'MINID', '~', String(oldestKeptMs), '*', 'n', this.nodeId, 'b', JSON.stringify(batch))
      .pexpire(this.stream, this.retentionMs)
      .exec().catch(() => null);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    this.running = false;
    // A read blocked on the server ends with its connection; the loop then sees it is stopped.
    this.reader?.disconnect();
    // But a read queued while ioredis reconnects to a Redis that is gone is never settled
    // by disconnect(): the stop waits no longer than a blocking read could take.
    let timer: NodeJS.Timeout | undefined;
    const readCouldTake = new Promise<void>((resolve) => { timer = setTimeout(resolve, 2 * this.blockMs); });
    await Promise.race([this.reading, readCouldTake]);
    clearTimeout(timer);
  }

  private async readFrom(start: string): Promise<void> {
    let lastId = start;
    while (this.running) {
      let reply: StreamReply;
      try {
        reply = await (this.reader as Redis).xread('COUNT', 100, 'BLOCK', this.blockMs, 'STREAMS', this.stream, lastId) as StreamReply;
      } catch {
        // The connection dropped: ioredis reconnects, and the next read asks from the same
        // place, so the batches of the gap come then.
        if (this.running) await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      for (const [id, fields] of reply?.[0]?.[1] ?? []) {
        lastId = id;
        this.deliver(fields);
      }
    }
  }

  private deliver(fields: readonly string[]): void {
    let from: string | undefined;
    let body: string | undefined;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === 'n') from = fields[i + 1];
      else if (fields[i] === 'b') body = fields[i + 1];
    }
    // A node reads its own batches too: they are skipped unparsed.
    if (from === this.nodeId || body === undefined) return;
    let batch: Partial<RelayBatch> | null;
    try {
      batch = JSON.parse(body) as Partial<RelayBatch> | null;
    } catch {
      return; // not a batch of ours: a stray writer must not take the node down
    }
    if (typeof batch !== 'object' || batch === null || !Array.isArray(batch.gifts) || !Array.isArray(batch.userEvents)
      || !(batch.closedRooms === undefined || Array.isArray(batch.closedRooms))) return;
    try {
      this.receive(batch as RelayBatch);
    } catch (error) {
      this.onDeliveryError(error);
    }
  }
}
