import { DomainError } from '../../domain/errors.js';
import type { EarningsEvent, GiftAck, GiftEvent } from '../events.js';
import { parseGiftSend } from '../validate.js';
import { channelSize, userChannel, type GatewaySocket, type HandlerContext } from './context.js';

const roomClosed = () => new DomainError('UNKNOWN_ROOM', 'the room has closed');

export async function giftSend(ctx: HandlerContext, socket: GatewaySocket, payload: unknown): Promise<GiftAck> {
  const request = parseGiftSend(payload);
  const streamerId = socket.data.rooms.get(request.roomId);
  if (streamerId === undefined) {
    if (socket.data.closedRooms.has(request.roomId)) throw roomClosed();
    throw new DomainError('NOT_IN_ROOM');
  }
  if (await ctx.app.rooms.find(request.roomId) === undefined) throw roomClosed();
  const rate = ctx.giftBucket(socket.data.userId);
  const nowMs = Date.now();
  const withinRate = rate.take(nowMs);
  // Past the gift rate a replay is still answered. Asking whether it is one costs a lookup,
  // so that takes from the connection's request allowance, which bounds how fast a client
  // can have us look.
  if (!withinRate && !(socket.data.requests.take(nowMs) && await ctx.app.gifts.answered(socket.data.userId, request.requestId))) {
    throw new DomainError('RATE_LIMITED');
  }
  const receipt = await ctx.app.gifts.send({ senderId: socket.data.userId, streamerId, ...request });
  // A replay charged nothing: the retries of a gift whose ack was lost leave the rate to new gifts.
  if (withinRate && receipt.replay) rate.giveBack();
  if (receipt.credit !== undefined) {
    const gift: GiftEvent = {
      giftEventId: receipt.giftEventId, roomId: request.roomId, senderId: socket.data.userId, giftId: request.giftId,
      count: request.count, coins: receipt.charged, combo: receipt.combo, at: receipt.atMs,
    };
    ctx.broadcaster.enqueue(gift);
    ctx.relay.gift(gift);
    const wallet = { balance: receipt.balance, frozen: false, reason: 'gift' };
    const senderChannel = userChannel(socket.data.userId);
    if (socket.data.walletEcho) ctx.io.to(senderChannel).emit('wallet', wallet);
    // The ack carries this balance: only the user's other connections need the event.
    else if (channelSize(ctx.io, senderChannel) > 1) socket.to(senderChannel).emit('wallet', wallet);
    ctx.relay.userEvent({ userId: socket.data.userId, event: 'wallet', payload: wallet });
    const streamerChannel = userChannel(streamerId);
    const streamerHere = channelSize(ctx.io, streamerChannel) > 0;
    if (streamerHere || ctx.relay.shared) {
      const earnings: EarningsEvent = {
        giftEventId: receipt.giftEventId, roomId: request.roomId,
        delta: receipt.credit.payeeCoins[0] ?? 0, total: receipt.credit.earnedTotal,
        balance: receipt.credit.balance, month: receipt.credit.month, room: receipt.credit.room,
      };
      if (streamerHere) ctx.io.to(streamerChannel).emit('earnings', earnings);
      ctx.relay.userEvent({ userId: streamerId, event: 'earnings', payload: earnings });
    }
    ctx.leaderboards.touch(request.roomId);
  }
  return { giftEventId: receipt.giftEventId, charged: receipt.charged, balance: receipt.balance, combo: receipt.combo };
}
