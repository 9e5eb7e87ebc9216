import { z } from 'zod';
import { parseInput } from '../../http/validation.ts';

/** `POST /api/v1/google/token` (bff/openapi.yaml): the id_token Google's SDK gave the app. */
const googleTokenBody = z.strictObject({
  // Three base64url parts; Google's are about 1 kB, the bound leaves room and stops abuse.
  idToken: z
    .string()
    .min(20)
    .max(8192)
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, { message: 'A signed JWT (three base64url parts)' }),
});

export const parseGoogleTokenBody = (body: unknown): { idToken: string } =>
  parseInput(googleTokenBody, body, { message: 'The Google sign-in request is not valid' });
