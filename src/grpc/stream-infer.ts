/**
 * ModelStreamInfer: a bidirectional stream of inference requests, answered one at a time in the order they came,
 * each answer carrying its request's id. A request that fails is answered in band, its `error_message` the words
 * ModelInfer's status would carry, and the stream goes on; the stream ends OK once the client has half-closed and
 * every request is answered. When the client cancels (or its deadline passes), the request being computed is
 * stopped and nothing more is read or answered.
 *
 * A few requests are read ahead of the one being answered; then the stream stops reading, and HTTP/2's flow
 * control holds the client until answers have gone out, so a client sending faster than it is answered cannot
 * pile requests up in memory. Answers wait for the client to take them likewise.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { cancellation, requestIdOf } from './call-context.js';
import type { ModelInferRequest, ModelInferResponse, ModelStreamInferResponse } from './messages.js';
import type { Abandoned } from '../runtime/pool.js';
import { errorStatus } from './status.js';

/** Requests received and not yet answered beyond which the stream stops reading. */
export const STREAM_READ_AHEAD = 4;

export function streamInfer(
  call: ServerDuplexStream<ModelInferRequest, ModelStreamInferResponse>,
  infer: (request: ModelInferRequest, abandoned: Abandoned) => Promise<ModelInferResponse>,
  logger: Logger,
): void {
  const { abandoned, settled } = cancellation(call);
  const signal = abandoned();
  const reqId = requestIdOf(call);
  const waiting: ModelInferRequest[] = [];
  let answering = false;
  let halfClosed = false;

  const answerOne = async (request: ModelInferRequest): Promise<ModelStreamInferResponse> => {
    const started = performance.now();
    let answer: ModelStreamInferResponse;
    try {
      answer = { error_message: '', infer_response: await infer(request, abandoned) };
    } catch (error) {
      const { details } = errorStatus(error, (err) =>
        logger.error({ reqId, id: request.id, err }, 'unexpected error in a stream request'),
      );
      answer = {
        error_message: details,
        infer_response: {
          model_name: request.model_name,
          model_version: request.model_version,
          id: request.id,
          outputs: [],
          raw_output_contents: [],
        },
      };
    }
    if (logger.isLevelEnabled('info'))
      logger.info(
        {
          reqId,
          id: request.id,
          model: request.model_name,
          responseTimeMs: Math.round((performance.now() - started) * 1000) / 1000,
          ...(answer.error_message !== '' ? { detail: answer.error_message } : {}),
        },
        answer.error_message === '' ? 'stream request answered' : 'stream request refused',
      );
    return answer;
  };

  /** Resolves once the client has taken what was written, or the call is gone. */
  const taken = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        call.off('drain', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      call.once('drain', done);
      signal.addEventListener('abort', done, { once: true });
    });

  const answerWaiting = async () => {
    answering = true;
    while (waiting.length > 0 && !signal.aborted) {
      const request = waiting.shift() as ModelInferRequest;
      if (call.isPaused() && waiting.length < STREAM_READ_AHEAD) call.resume();
      const answer = await answerOne(request);
      if (signal.aborted) break;
      if (!call.write(answer)) await taken();
    }
    answering = false;
    if (halfClosed && !signal.aborted) end();
  };
  const end = () => {
    settled();
    call.end();
  };

  call.on('data', (request: ModelInferRequest) => {
    waiting.push(request);
    if (waiting.length >= STREAM_READ_AHEAD) call.pause();
    if (!answering) void answerWaiting();
  });
  call.on('end', () => {
    halfClosed = true;
    if (!answering) end();
  });
}
