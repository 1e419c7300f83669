import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedIntent {
  id: string;
  amount: number;
  currency: string;
  metadata: Record<string, string>;
  idempotencyKey: string | undefined;
  client_secret: string;
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/** Stripe acted, but the answer is lost on the way: what the client sees is a 500. */
function answerLost(response: http.ServerResponse): void {
  json(response, 500, { error: { type: 'api_error', message: 'answer lost' } });
}

/** A list endpoint's one page, newest first (has_more is always false here). */
function listPage(response: http.ServerResponse, url: string, data: unknown[]): void {
  json(response, 200, { object: 'list', url, has_more: false, data });
}

function metadataOf(form: URLSearchParams): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of form) {
    const match = /^metadata\[(.+)\]$/.exec(name);
    if (match?.[1] !== undefined) metadata[match[1]] = value;
  }
  return metadata;
}

function transferObject(transfer: StripeStandIn['transfers'][number]): Record<string, unknown> {
  return {
    id: transfer.id, object: 'transfer', amount: transfer.amount, currency: transfer.currency, destination: transfer.destination,
    transfer_group: transfer.transferGroup, metadata: transfer.metadata, created: transfer.created,
  };
}

function refundObject(refund: StripeStandIn['refunds'][number]): Record<string, unknown> {
  return { id: refund.id, object: 'refund', amount: refund.amount, payment_intent: refund.paymentIntent, metadata: refund.metadata, status: 'succeeded' };
}

/**
 * A local stand-in for the Stripe API, enough for PaymentIntents, refunds and Connect transfers: the official client is
 * pointed here (STRIPE_API_BASE). It honours Idempotency-Key as Stripe does.
 */
export class StripeStandIn {
  readonly intents: RecordedIntent[] = [];
  readonly refunds: { id: string; paymentIntent: string; amount: number; metadata: Record<string, string>; idempotencyKey: string | undefined }[] = [];
  /** Refunds are made but their answers lost (a 500). */
  loseRefundAnswers = false;
  readonly transfers: {
    id: string; amount: number; currency: string; destination: string; transferGroup: string; metadata: Record<string, string>;
    idempotencyKey: string | undefined; created: number;
  }[] = [];
  /** Transfers are made but their answers lost (a 500), as when a connection drops after Stripe acted. */
  loseTransferAnswers = false;
  /**
   * Transfers are made but answered 409 with an invalid_request_error, as Stripe answers a
   * request whose key another request still in progress holds (a client retrying after a
   * timeout, two senders at once): not a refusal, since the other request may pay.
   */
  answerTransfersInProgress = false;
  /** List requests (transfers, refunds) answer 500. */
  failLists = false;
  /** Transfers to these connected accounts are answered 409 (their key in progress) and not made: a payout that keeps waiting. */
  readonly stallTransfersTo = new Set<string>();
  /** Transfers to these connected accounts are refused, as Stripe refuses a restricted account. */
  readonly refuseTransfersTo = new Set<string>();
  /** Refunds of this amount (minor units) are refused, as Stripe refuses an invalid refund. */
  refuseRefundAmount: number | null = null;
  /** Refunds of these PaymentIntents are refused, as Stripe refuses to refund a disputed charge. */
  readonly disputedIntents = new Set<string>();
  private readonly byKey = new Map<string, RecordedIntent>();
  private server: http.Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://stand-in');
        if (request.method === 'GET' && this.failLists) {
          json(response, 500, { error: { type: 'api_error', message: 'list unavailable' } });
          return;
        }
        if (request.method === 'GET' && url.pathname === '/v1/transfers') {
          this.listTransfers(url.searchParams, response);
          return;
        }
        if (request.method === 'GET' && url.pathname === '/v1/refunds') {
          this.listRefunds(url.searchParams, response);
          return;
        }
        if (request.method === 'POST' && request.url === '/v1/transfers') {
          this.transfer(new URLSearchParams(body), request.headers['idempotency-key'], response);
          return;
        }
        if (request.method === 'POST' && request.url === '/v1/refunds') {
          this.refund(new URLSearchParams(body), request.headers['idempotency-key'], response);
          return;
        }
        if (request.method !== 'POST' || request.url !== '/v1/payment_intents') {
          json(response, 404, { error: { type: 'invalid_request_error', message: 'unknown route' } });
          return;
        }
        const form = new URLSearchParams(body);
        const key = request.headers['idempotency-key'];
        const idempotencyKey = typeof key === 'string' ? key : undefined;
        let intent = idempotencyKey === undefined ? undefined : this.byKey.get(idempotencyKey);
        if (intent === undefined) {
          const id = `pi_${randomBytes(8).toString('hex')}`;
          intent = { id, amount: Number(form.get('amount')), currency: form.get('currency') ?? '', metadata: metadataOf(form), idempotencyKey, client_secret: `${id}_secret_${randomBytes(6).toString('hex')}` };
          this.intents.push(intent);
          if (idempotencyKey !== undefined) this.byKey.set(idempotencyKey, intent);
        }
        json(response, 200, { object: 'payment_intent', status: 'requires_payment_method', ...intent });
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private refund(form: URLSearchParams, key: string | string[] | undefined, response: http.ServerResponse): void {
    const amount = Number(form.get('amount'));
    if (amount === this.refuseRefundAmount) {
      json(response, 400, { error: { type: 'invalid_request_error', message: 'refund refused by the stand-in' } });
      return;
    }
    if (this.disputedIntents.has(form.get('payment_intent') ?? '')) {
      json(response, 400, { error: { type: 'invalid_request_error', code: 'charge_disputed', message: 'this charge has been disputed' } });
      return;
    }
    const idempotencyKey = typeof key === 'string' ? key : undefined;
    let refund = this.refunds.find((r) => idempotencyKey !== undefined && r.idempotencyKey === idempotencyKey);
    if (refund === undefined) {
      refund = { id: `re_${randomBytes(8).toString('hex')}`, paymentIntent: form.get('payment_intent') ?? '', amount, metadata: metadataOf(form), idempotencyKey };
      this.refunds.push(refund);
    }
    if (this.loseRefundAnswers) answerLost(response);
    else json(response, 200, refundObject(refund));
  }

  /** GET /v1/refunds?payment_intent= */
  private listRefunds(query: URLSearchParams, response: http.ServerResponse): void {
    const intent = query.get('payment_intent');
    listPage(response, '/v1/refunds', this.refunds.filter((r) => intent === null || r.paymentIntent === intent).reverse().map(refundObject));
  }

  private transfer(form: URLSearchParams, key: string | string[] | undefined, response: http.ServerResponse): void {
    const destination = form.get('destination') ?? '';
    if (this.stallTransfersTo.has(destination)) {
      json(response, 409, { error: { type: 'invalid_request_error', message: 'There is currently another in-progress request using this Idempotent Key.' } });
      return;
    }
    if (this.refuseTransfersTo.has(destination)) {
      json(response, 400, { error: { type: 'invalid_request_error', code: 'account_invalid', message: `transfers to ${destination} are not allowed` } });
      return;
    }
    const idempotencyKey = typeof key === 'string' ? key : undefined;
    let transfer = this.transfers.find((t) => idempotencyKey !== undefined && t.idempotencyKey === idempotencyKey);
    if (transfer === undefined) {
      transfer = {
        id: `tr_${randomBytes(8).toString('hex')}`, amount: Number(form.get('amount')), currency: form.get('currency') ?? '',
        destination, transferGroup: form.get('transfer_group') ?? '', metadata: metadataOf(form), idempotencyKey, created: Math.floor(Date.now() / 1000),
      };
      this.transfers.push(transfer);
    }
    if (this.loseTransferAnswers) answerLost(response);
    else if (this.answerTransfersInProgress) {
      json(response, 409, { error: { type: 'invalid_request_error',
        message: 'There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through).' } });
    } else json(response, 200, transferObject(transfer));
  }

  /** GET /v1/transfers?transfer_group= */
  private listTransfers(query: URLSearchParams, response: http.ServerResponse): void {
    const group = query.get('transfer_group');
    listPage(response, '/v1/transfers', this.transfers.filter((t) => group === null || t.transferGroup === group).reverse().map(transferObject));
  }

  /** What Stripe does after 24 hours: a key seen before makes a new object again. */
  forgetIdempotencyKeys(): void {
    for (const transfer of this.transfers) transfer.idempotencyKey = undefined;
    for (const refund of this.refunds) refund.idempotencyKey = undefined;
    this.byKey.clear();
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
