/**
 * Channels as data (docs/pacing.md): their settings (`PUT`, `GET`, `DELETE
 * /channels/{channel}`, `GET /channels`), the capacity a contact centre
 * reports (`PUT /channels/{channel}/capacity`) and what pacing makes of them
 * now (`GET /pacing`). Everything lives in the store, so every node sees the
 * same.
 */
import type { FastifyInstance } from 'fastify';
import type { z } from 'zod';
import {
  capacityReportFormOf,
  channelNameSchema,
  channelSettingsSchema,
  findHostileKey,
  freeSlotsOf,
  type CapacityAnswer,
  type ChannelSettings,
} from '../../protocol/index.js';
import type { Lifecycle } from '../../core/lifecycle.js';
import type { BeckonStore } from '../../core/store.js';
import { BeckonFault, invalidParameter } from '../../core/faults.js';
import { invalidInput } from '../http.js';

/** The channel named in the path, or INVALID_PARAMETER naming it. */
function channelOf(params: { channel: string }): string {
  const parsed = channelNameSchema.safeParse(params.channel);
  if (!parsed.success) throw invalidParameter('channel', parsed.error.issues[0]!.message);
  return parsed.data;
}

/** The whole JSON body read with `schema`: each bad field named in the details, as engage does. */
function readBody<S extends z.ZodType>(body: unknown, schema: S): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidParameter('body', 'must be a JSON object');
  }
  const hostile = findHostileKey(body);
  if (hostile !== null) throw invalidParameter(hostile, 'is a forbidden key or nested too deeply');
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw invalidInput(parsed.error);
}

const unknownChannel = (channel: string) =>
  new BeckonFault('NOT_FOUND', { message: `No channel named "${channel}" has settings.` });

export function channelRoutes(deps: { lifecycle: Lifecycle; store: BeckonStore; now: () => number }) {
  return async (app: FastifyInstance): Promise<void> => {
    const { lifecycle, store, now } = deps;
    const record = (channel: string, settings: ChannelSettings) => ({ channel, ...settings });

    app.get('/channels', async () => {
      const settings = await store.channelSettings();
      return { channels: [...settings].sort(([a], [b]) => (a < b ? -1 : 1)).map(([c, s]) => record(c, s)) };
    });

    app.get<{ Params: { channel: string } }>('/channels/:channel', async (request) => {
      const channel = channelOf(request.params);
      const settings = (await store.channelSettings([channel])).get(channel);
      if (!settings) throw unknownChannel(channel);
      return record(channel, settings);
    });

    app.put<{ Params: { channel: string } }>('/channels/:channel', async (request, reply) => {
      const channel = channelOf(request.params);
      const settings = readBody(request.body, channelSettingsSchema);
      const { created } = await store.putChannel(channel, settings);
      lifecycle.channels.forget();
      return reply.code(created ? 201 : 200).send(record(channel, settings));
    });

    app.delete<{ Params: { channel: string } }>('/channels/:channel', async (request) => {
      const channel = channelOf(request.params);
      if (!(await store.deleteChannel(channel))) throw unknownChannel(channel);
      lifecycle.channels.forget();
      return { status: 'OK', channel };
    });

    app.put<{ Params: { channel: string } }>(
      '/channels/:channel/capacity',
      async (request): Promise<CapacityAnswer> => {
        const channel = channelOf(request.params);
        const freeSlots = freeSlotsOf(readBody(request.body, capacityReportFormOf(request.body)));
        const reported = await store.reportCapacity(channel, freeSlots, now());
        if (!reported) throw unknownChannel(channel);
        return { channel, freeSlots, reportedAt: new Date(reported.reportedAt).toISOString() };
      },
    );

    app.get('/pacing', async () => ({ channels: await lifecycle.channels.status(now()) }));
  };
}
