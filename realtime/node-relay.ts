import type { Redis } from 'ioredis';
import type { EarningsEvent, GiftEvent, WalletEvent } from './events.js';

export type RelayedUserEvent =
  | { userId: string; event: 'wallet'; payload: WalletEvent }
  | { userId: string; event: 'earnings'; payload: EarningsEvent };

/** What one gateway node tells the others in a tick. */
export interface RelayBatch {
  gifts: GiftEvent[];
  userEvents: RelayedUserEvent[];
}

/**
 * Live delivery across gateway nodes. A node's sockets are its own, so the gifts it charges
 * and the wallet and earnings updates it learns of are also published, once per tick, on
 * one Redis channel; every other node delivers them to its own members. While no other
 * gateway is alive nothing is collected or published, so a single node pays nothing.
 */
export class NodeRelay {
  private gifts: GiftEvent[] = [];
  private userEvents: RelayedUserEvent[] = [];
  private otherNodes = 0;
  private readonly timer: NodeJS.Timeout;

  /**
   * `subscriber` null: this server is no peer of the other gateways (GATEWAY_RELAY=off, the
   * bench's baseline); it is still listed as a live gateway, but under a `solo:` name that
   * the others do not count.
   */
  constructor(private readonly publisher: Redis, private readonly subscriber: Redis | null, private readonly channel: string,
    readonly nodeId: string, receive: (batch: RelayBatch) => void, tickMs: number) {
    subscriber?.on('message', (from: string, message: string) => {
      if (from !== channel) return;
      const split = message.indexOf('\n');
      // A node hears its own batches too: the sender's id comes first, so they are skipped unparsed.
      if (split < 0 || message.slice(0, split) === nodeId) return;
      let batch: RelayBatch;
      try {
        batch = JSON.parse(message.slice(split + 1)) as RelayBatch;
      } catch {
        return; // not a batch of ours: a stray publisher must not take the node down
      }
      if (Array.isArray(batch.gifts) && Array.isArray(batch.userEvents)) receive(batch);
    });
    this.timer = setInterval(() => this.flush(), tickMs);
    this.timer.unref();
  }

  async start(): Promise<void> {
    await this.subscriber?.subscribe(this.channel);
  }

  /** This node's name in the live gateways' list. */
  get gatewayName(): string {
    return this.subscriber === null ? `solo:${this.nodeId}` : this.nodeId;
  }

  /** Told by the heartbeat which gateways are alive: the others that relay are its peers. */
  seeGateways(names: readonly string[]): void {
    if (this.subscriber === null) return;
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

  flush(): void {
    if (this.gifts.length === 0 && this.userEvents.length === 0) return;
    const batch: RelayBatch = { gifts: this.gifts, userEvents: this.userEvents };
    this.gifts = [];
    this.userEvents = [];
    // Live delivery is best effort across a Redis outage, as on one node; the money is not.
    void this.publisher.publish(this.channel, `${this.nodeId}\n${JSON.stringify(batch)}`).catch(() => 0);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.flush();
    this.subscriber?.disconnect();
  }
}
