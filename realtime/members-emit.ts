import { limits } from '../domain/limits.js';
import type { ServerToClientEvents } from './events.js';
import type { Io } from './handlers/context.js';
import { engineQueueEmpty, eventMessage, tcpSocketOf, textFrame } from './raw-frames.js';

export type RoomEvent = 'gifts' | 'giftColumns' | 'leaderboard' | 'room:closed';

/** Told how many members an event was written to (room_frames_total): each costs a socket write here and a parse in a client. */
export type FrameCounter = (event: RoomEvent | 'gift', members: number) => void;

interface Job {
  socketIds: string[];
  next: number;
  event: RoomEvent;
  payload: unknown;
  frame: Buffer | null;
}

/**
 * Sends events to many sockets of this node: one encoded frame per event, written straight
 * to each member's TCP socket (see raw-frames.ts). A member whose connection cannot take
 * it that way in order gets the ordinary emit, and one that has left 8 MiB unread is
 * dropped. With a multi-node adapter, other nodes' members need the adapter's broadcast.
 *
 * Writes run in first-in, first-out order, `writesPerTurn` per event-loop turn (more when
 * a backlog builds up):
 * a 1,000-member room took ~15 ms of writes per tick, and every ack that arrived
 * meanwhile waited for all of it. Between slices the loop serves acks. A member's frames
 * keep their order, since jobs never overtake each other.
 */
export class MembersEmitter {
  private readonly jobs: Job[] = [];
  private scheduled = false;
  private pendingWrites = 0;

  constructor(private readonly io: Io, private readonly writesPerTurn: number = limits.broadcastWritesPerTurn,
    private readonly countFrames: FrameCounter = () => {}) {}

  emit<E extends RoomEvent>(members: ReadonlySet<string>, event: E, payload: Parameters<ServerToClientEvents[E]>[0]): void {
    if (members.size === 0) return;
    this.jobs.push({ socketIds: [...members], next: 0, event, payload, frame: null });
    this.pendingWrites += members.size;
    this.schedule();
  }

  /** Writes everything still queued, now (shutdown). */
  flush(): void {
    this.drain(Number.POSITIVE_INFINITY);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    // An overloaded node still gets a quarter of its backlog out per turn: acks go first,
    // but deliveries cannot fall behind without bound.
    setImmediate(() => this.drain(Math.max(this.writesPerTurn, Math.ceil(this.pendingWrites / 4))));
  }

  private drain(budget: number): void {
    this.scheduled = false;
    let left = budget;
    while (this.jobs.length > 0 && left > 0) {
      const job = this.jobs[0] as Job;
      let written = 0;
      while (job.next < job.socketIds.length && left > 0) {
        if (this.write(job, job.socketIds[job.next] as string)) written += 1;
        job.next += 1;
        left -= 1;
        this.pendingWrites -= 1;
      }
      if (written > 0) this.countFrames(job.event, written);
      if (job.next === job.socketIds.length) this.jobs.shift();
    }
    if (this.jobs.length > 0) this.schedule();
  }

  /** Whether the member was sent the event: not when it has left or was dropped for its backlog. */
  private write(job: Job, socketId: string): boolean {
    const socket = this.io.sockets.sockets.get(socketId);
    if (socket === undefined) return false;
    const tcp = tcpSocketOf(socket.conn);
    if (tcp !== null && tcp.writableLength > limits.socketBacklogBytesMax) {
      socket.disconnect(true);
      return false;
    }
    if (tcp === null || !engineQueueEmpty(socket.conn)) {
      (socket.emit as (event: RoomEvent, payload: unknown) => boolean)(job.event, job.payload);
      return true;
    }
    job.frame ??= textFrame(eventMessage(job.event, job.payload));
    tcp.write(job.frame);
    return true;
  }
}
