import type { Socket as NetSocket } from 'node:net';

/**
 * A room's `gifts` frame, built once and written to each member's TCP socket as is.
 *
 * Socket.IO already encodes a broadcast once, but then walks every member through
 * engine.io's packet queue, the ws sender (cork, two writes, uncork) and a write callback
 * that re-opens the queue. For a 2,000-viewer room that walk, not the data, was most of
 * the tick. The frame written here is byte for byte what Socket.IO would send.
 */

/** The Socket.IO wire text of an event on the default namespace: engine.io `4` (message), Socket.IO `2` (event). */
export function eventMessage(event: string, payload: unknown): string {
  return `42${JSON.stringify([event, payload])}`;
}

/** An unmasked, final WebSocket text frame (RFC 6455 section 5.2), as servers send them. */
export function textFrame(message: string): Buffer {
  const length = Buffer.byteLength(message, 'utf8');
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81;
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(message, headerLength, 'utf8');
  return frame;
}

/** The parts of an engine.io socket this relies on; none are public API, so each is checked. */
interface EngineSocketInternals {
  readyState?: unknown;
  writeBuffer?: unknown;
  transport?: { name?: unknown; socket?: { _socket?: unknown } };
}

/** The TCP socket under an engine.io connection open on websocket, or null. */
export function tcpSocketOf(engineSocket: unknown): NetSocket | null {
  const engine = engineSocket as EngineSocketInternals;
  if (engine.readyState !== 'open' || engine.transport?.name !== 'websocket') return null;
  const raw = engine.transport.socket?._socket as NetSocket | undefined;
  if (raw === undefined || typeof raw.write !== 'function' || !raw.writable || raw.destroyed) return null;
  return raw;
}

/**
 * Whether a frame written to the TCP socket now lands in order: engine.io holds no queued
 * packet, so every earlier packet is already with the TCP socket and nothing is overtaken.
 * Otherwise the caller takes the ordinary path, which queues behind them.
 */
export function engineQueueEmpty(engineSocket: unknown): boolean {
  const queue = (engineSocket as EngineSocketInternals).writeBuffer;
  return Array.isArray(queue) && queue.length === 0;
}
