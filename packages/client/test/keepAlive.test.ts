import type { ChunkUploadRequest } from '@rediver/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClient } from '../src/index';
import { API_KEY, chunk, chunkAnswer } from './fixtures';
import type { LoopbackServer } from '@rediver/testkit';
import { sendJson, startLoopbackServer } from '@rediver/testkit';

let server: LoopbackServer;

beforeEach(async () => {
  server = await startLoopbackServer((req, res) =>
    sendJson(res, 201, chunkAnswer(req.json as ChunkUploadRequest)),
  );
});

afterEach(async () => {
  await server.close();
});

describe('keep-alive pool', () => {
  it('reuses its connections for sequential requests', async () => {
    const client = createClient({ baseUrl: server.url, apiKey: API_KEY });
    try {
      for (let i = 0; i < 25; i++) {
        await client.uploadChunk(chunk({ chunk_index: i, total_chunks: 25 }), { idempotencyKey: `k${i}` });
      }
      expect(server.requests).toHaveLength(25);
      // The agent may open a second socket while the first is being released after its answer; never more.
      expect(server.connections()).toBeGreaterThanOrEqual(1);
      expect(server.connections()).toBeLessThanOrEqual(2);
    } finally {
      await client.close();
    }
  });

  it('opens at most maxConnections sockets for concurrent requests', async () => {
    const client = createClient({ baseUrl: server.url, apiKey: API_KEY, maxConnections: 3 });
    try {
      const uploads = Array.from({ length: 30 }, (_, i) =>
        client.uploadChunk(chunk({ chunk_index: i, total_chunks: 30 }), { idempotencyKey: `k${i}` }),
      );
      const answers = await Promise.all(uploads);
      expect(answers.map((a) => a.chunk_index)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect(server.connections()).toBeGreaterThanOrEqual(1);
      expect(server.connections()).toBeLessThanOrEqual(3);
    } finally {
      await client.close();
    }
  });

  it('uses exactly one socket with maxConnections 1', async () => {
    const client = createClient({ baseUrl: server.url, apiKey: API_KEY, maxConnections: 1 });
    try {
      const uploads = Array.from({ length: 10 }, (_, i) =>
        client.uploadChunk(chunk({ chunk_index: i, total_chunks: 10 }), { idempotencyKey: `k${i}` }),
      );
      await Promise.all(uploads);
      expect(server.connections()).toBe(1);
    } finally {
      await client.close();
    }
  });

  it('keeps the connection after error answers (4xx/5xx bodies are read to the end)', async () => {
    const client = createClient({ baseUrl: server.url, apiKey: API_KEY, maxConnections: 1 });
    try {
      server.handle((_req, res) => sendJson(res, 422, { error: 'nope' }));
      for (let i = 0; i < 5; i++) {
        await expect(client.uploadChunk(chunk(), { idempotencyKey: `k${i}` })).rejects.toMatchObject({
          status: 422,
        });
      }
      expect(server.connections()).toBe(1);
    } finally {
      await client.close();
    }
  });
});
