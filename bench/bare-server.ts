/**
 * The peer of the HTTP benchmark: a bare Fastify route answering a fixed JSON body (BARE_BODY) to POST
 * /bare, with the same logger settings as the service, listening on 127.0.0.1:PORT.
 */
import Fastify from 'fastify';
import pino from 'pino';

const body = process.env.BARE_BODY ?? '{}';
const app = Fastify({ loggerInstance: pino({ level: process.env.LOG_LEVEL ?? 'warn' }) });
app.post('/bare', async (_request, reply) => reply.type('application/json; charset=utf-8').send(body));
app.get('/readyz', async () => ({ status: 'ready' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
