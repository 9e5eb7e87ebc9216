import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { accountOf, requireAccessToken, type AccessTokenSettings } from '../http/bearer.ts';
import { parseInput } from '../http/validation.ts';
import { DomainError } from '../kernel/errors.ts';
import type { AccessTokens } from '../ports/access-tokens.ts';
import type { IdentityDirectory } from '../ports/identity-directory.ts';
import { pictureTooLarge } from './image.ts';
import type { Pictures } from './pictures.ts';

/** The upload route takes an image body unparsed (app.ts lets it through; the type is checked by content). */
export const PICTURE_UPLOAD_PATH = /^\/api\/v1\/user\/picture$/;

export interface PictureRouteDeps {
  pictures: Pictures;
  accessTokens: AccessTokens;
  directory: Pick<IdentityDirectory, 'getUser'>;
  bearer: { audience: string; clients: readonly string[] };
  maxBytes: number;
}

const pictureParams = z.object({ id: z.uuid() }).strict();

/**
 * Profile pictures (bff/openapi.yaml, "pictures"; decision 0038): the signed-in person's own picture
 * under /api/v1/user/picture, and every current picture at its public address /api/v1/pictures/{id}
 * (the `picture` claim; an unguessable id, gone once replaced or removed).
 */
export function pictureRouter(deps: PictureRouteDeps): Router {
  const router = new Router({ prefix: '/api/v1' });
  const authenticated = requireAccessToken(
    (): AccessTokenSettings => ({ tokens: deps.accessTokens, directory: deps.directory, audience: deps.bearer.audience, clients: deps.bearer.clients }),
  );

  router.get('/user/picture', authenticated, async (ctx) => {
    ctx.body = await deps.pictures.state(accountOf(ctx).id);
  });

  router.put('/user/picture', authenticated, async (ctx) => {
    const bytes = await readBody(ctx, deps.maxBytes);
    const state = await deps.pictures.upload(accountOf(ctx).id, bytes);
    ctx.status = state.status === 'ready' ? 200 : 202;
    ctx.body = state;
  });

  router.delete('/user/picture', authenticated, async (ctx) => {
    await deps.pictures.remove(accountOf(ctx).id);
    ctx.status = 204;
  });

  router.get('/pictures/:id', async (ctx) => {
    const { id } = parseInput(pictureParams, ctx.params, { where: 'path' });
    const picture = await deps.pictures.read(id);
    ctx.type = picture.contentType;
    // Public (any relying party shows the claim's URL) and never changing under this id.
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.set('Cross-Origin-Resource-Policy', 'cross-origin');
    ctx.body = picture.body;
  });

  return router;
}

/**
 * The request body, at most `maxBytes`: a larger Content-Length is refused before reading, a body
 * that grows past it while streaming is cut off. Either way nothing is kept.
 */
async function readBody(ctx: Context, maxBytes: number): Promise<Buffer> {
  if (!ctx.is('image/*', 'application/octet-stream')) {
    throw new DomainError('VALIDATION_FAILED', 'Send the picture as the body, with its image type', {
      fields: [
        {
          field: 'body',
          reason: 'unsupported_media_type',
          message: 'The body must be an image (Content-Type: image/png, image/jpeg, image/webp or image/gif)',
        },
      ],
    });
  }
  const declared = ctx.request.length;
  if (declared !== undefined && declared > maxBytes) throw pictureTooLarge(maxBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      ctx.req.destroy();
      throw pictureTooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  if (size === 0) {
    throw new DomainError('VALIDATION_FAILED', 'The body is empty', {
      fields: [{ field: 'body', reason: 'required', message: 'Send the picture as the body' }],
    });
  }
  return Buffer.concat(chunks);
}
