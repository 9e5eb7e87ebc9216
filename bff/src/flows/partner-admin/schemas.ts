import { z } from 'zod';
import { IDENTIFIER } from '../../partners/validation.ts';

const identifier = z.string().regex(IDENTIFIER, 'expected 3-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit');

export const appKeySettings = z.strictObject({
  autoEnroll: z.boolean(),
  kbaBypass: z.boolean(),
});

export const registerPartnerBody = z.strictObject({
  clientId: identifier,
  name: z.string().trim().min(1).max(200),
  trustAuth: z.boolean(),
  appKeys: z
    .array(appKeySettings.extend({ appKey: identifier }))
    .max(50)
    .refine((keys) => new Set(keys.map((k) => k.appKey)).size === keys.length, { message: 'appKeys must be unique', params: { reason: 'duplicate' } }),
});
export type RegisterPartner = z.output<typeof registerPartnerBody>;

export const updatePartnerBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    trustAuth: z.boolean().optional(),
    enabled: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one of name, trustAuth, enabled', params: { reason: 'required' } });

export const clientIdParam = identifier;
export const appKeyParam = identifier;
