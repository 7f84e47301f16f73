/**
 * ModelStreamInfer: a bidirectional stream of inference requests. Each request goes to the core as it arrives (so
 * requests of one stream are batched, and a sequence's chunks run in the order they came: the core locks each
 * sequence's turn in arrival order), and the answers go back in the order the requests came, each carrying its
 * request's id. A request that fails is answered in band, its `error_message` the words ModelInfer's status would
 * carry, and the stream goes on; the stream ends OK once the client has half-closed and every request is answered.
 * When the client cancels (or its deadline passes), the work of its requests is stopped and nothing more is read
 * or answered.
 *
 * At most STREAM_IN_FLIGHT requests are in flight; then the stream stops reading, and HTTP/2's flow control holds
 * the client until answers have gone out, so a client sending faster than it is answered cannot pile requests up
 * in memory. Answers wait for the client to take them likewise.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { InferenceCore } from '../core/core.js';
import type { Sink } from '../core/sink.js';
import type { OipGrpcAnswer } from '../protocols/oip-grpc-answer.js';
import { CallPresence, requestIdOf } from './call-context.js';
import { Closing } from './call-sink.js';
import { inGrpcTerms, translateInferRequest } from './infer-request.js';
import type { ModelInferRequest, ModelStreamInferResponse } from './messages.js';
import { errorStatus } from './status.js';

/** Requests received and not yet answered beyond which the stream stops reading. */
export const STREAM_IN_FLIGHT = 8;

/** One request of the stream, from its arrival until its answer is written. */
interface Slot {
  readonly request: ModelInferRequest;
  readonly arrived: number;
  answer: ModelStreamInferResponse | null;
  /** What the request holds (its memory), given back once its answer is written or the stream is cancelled. */
  readonly closing: Closing;
}

export function streamInfer(
  call: ServerDuplexStream<ModelInferRequest, ModelStreamInferResponse>,
  core: Pick<InferenceCore, 'infer'>,
  logger: Logger,
): void {
  const presence = new CallPresence(call);
  const reqId = requestIdOf(call);
  /** The requests not answered yet, in the order they came. */
  const slots: Slot[] = [];
  let halfClosed = false;
  let waitingForDrain = false;
  let over = false;

  presence.onCancel(() => {
    over = true;
    for (const slot of slots.splice(0)) slot.closing.close();
  });

  const log = (slot: Slot, answer: ModelStreamInferResponse) => {
    if (!logger.isLevelEnabled('info')) return;
    const failed = answer.error_message !== '';
    logger.info(
      {
        reqId,
        id: slot.request.id,
        model: slot.request.model_name,
        responseTimeMs: Math.round((performance.now() - slot.arrived) * 1000) / 1000,
        ...(failed ? { detail: answer.error_message } : {}),
      },
      failed ? 'stream request refused' : 'stream request answered',
    );
  };

  /** Writes the answers that are next in order, as far as the client takes them; ends the stream when all are. */
  const flush = () => {
    while (!over && !waitingForDrain && slots.length > 0 && slots[0].answer !== null) {
      const slot = slots.shift() as Slot;
      const answer = slot.answer as ModelStreamInferResponse;
      log(slot, answer);
      const more = call.write(answer);
      slot.closing.close();
      if (!more) {
        waitingForDrain = true;
        call.once('drain', () => {
          waitingForDrain = false;
          flush();
        });
      }
    }
    if (over) return;
    if (call.isPaused() && slots.length < STREAM_IN_FLIGHT) call.resume();
    if (halfClosed && slots.length === 0) {
      over = true;
      presence.settled();
      call.end();
    }
  };

  const settle = (slot: Slot, answer: ModelStreamInferResponse) => {
    if (slot.answer !== null || slot.closing.closed) return;
    slot.answer = answer;
    flush();
  };

  const refuse = (slot: Slot, error: unknown, sources: readonly string[]) => {
    const { request } = slot;
    const { details } = errorStatus(inGrpcTerms(error, sources), (err) =>
      logger.error({ reqId, id: request.id, err }, 'unexpected error in a stream request'),
    );
    settle(slot, {
      error_message: details,
      infer_response: {
        model_name: request.model_name,
        model_version: request.model_version,
        id: request.id,
        outputs: [],
        raw_output_contents: [],
      },
    });
  };

  call.on('data', (request: ModelInferRequest) => {
    if (over) return;
    const slot: Slot = { request, arrived: performance.now(), answer: null, closing: new Closing() };
    slots.push(slot);
    if (slots.length >= STREAM_IN_FLIGHT) call.pause();
    let translated: ReturnType<typeof translateInferRequest>;
    try {
      translated = translateInferRequest(request);
    } catch (error) {
      refuse(slot, error, []);
      return;
    }
    const sink: Sink<OipGrpcAnswer> = {
      gone: () => presence.gone(),
      arrived: () => slot.arrived,
      onClose: (release) => slot.closing.add(release),
      answer: (answer) => settle(slot, { error_message: '', infer_response: answer }),
      fail: (error) => refuse(slot, error, translated.sources),
    };
    core.infer(translated.request, translated.encoding, sink);
  });
  call.on('end', () => {
    halfClosed = true;
    flush();
  });
}
