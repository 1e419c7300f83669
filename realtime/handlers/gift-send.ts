import { DomainError } from '../../domain/errors.js';
import type { EarningsEvent, GiftAck, GiftEvent } from '../events.js';
import { parseGiftSend } from '../validate.js';
import type { TokenBucket } from '../../domain/rate-limit.js';
import type { GiftReceipt } from '../../server/redis/wallet-store.js';
import { channelSize, userChannel, type GatewaySocket, type HandlerContext } from './context.js';

const roomClosed = () => new DomainError('UNKNOWN_ROOM', 'the room has closed');

export async function giftSend(ctx: HandlerContext, socket: GatewaySocket, payload: unknown): Promise<GiftAck> {
  const request = parseGiftSend(payload);
  const rate = ctx.giftBucket(socket.data.userId);
  // A retry of a gift whose ack was lost gets that ack, whatever has changed since: the
  // room closed, this connection is a new one in no room, the rate ran out, the gift left
  // the catalog. Looking costs a read, so it takes from the connection's request
  // allowance: past that, the refusal stands.
  const replayOr = async (refusal: unknown): Promise<GiftReceipt> => {
    const replay = socket.data.requests.take(Date.now()) ? await ctx.app.gifts.replayOf(socket.data.userId, request) : null;
    if (replay === null) throw refusal;
    return replay;
  };
  let streamerId: string;
  try {
    streamerId = await admit(ctx, socket, request.roomId, rate);
  } catch (refusal) {
    return ackOf(await replayOr(refusal));
  }
  let receipt: GiftReceipt;
  try {
    receipt = await ctx.app.gifts.send({ senderId: socket.data.userId, streamerId, ...request });
  } catch (error) {
    if (!(error instanceof DomainError && error.code === 'UNKNOWN_GIFT')) throw error;
    receipt = await replayOr(error);
  }
  // A replay charged nothing: the retries of a gift whose ack was lost leave the rate to new gifts.
  if (receipt.replay) rate.giveBack();
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
  return ackOf(receipt);
}

/** The streamer of the room a new gift may go to now, or the refusal: not in it, closed, over the sender's rate. */
async function admit(ctx: HandlerContext, socket: GatewaySocket, roomId: string, rate: TokenBucket): Promise<string> {
  const streamerId = socket.data.rooms.get(roomId);
  if (streamerId === undefined) {
    if (socket.data.closedRooms.has(roomId)) throw roomClosed();
    throw new DomainError('NOT_IN_ROOM');
  }
  if (await ctx.app.rooms.find(roomId) === undefined) throw roomClosed();
  if (!rate.take(Date.now())) throw new DomainError('RATE_LIMITED');
  return streamerId;
}

function ackOf(receipt: GiftReceipt): GiftAck {
  return { giftEventId: receipt.giftEventId, charged: receipt.charged, balance: receipt.balance, combo: receipt.combo };
}
