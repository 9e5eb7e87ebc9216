import { z } from 'zod';
import { checkFrameOrigin, MAX_FRAME_ORIGINS } from '../../partners/frame-origins.ts';
import { PARTNER_ID } from '../../partners/partner-ids.ts';

const identifier = z.string().regex(PARTNER_ID, 'expected 3-128 of A-Z a-z 0-9 . _ -, starting with a letter or digit');

/**
 * An origin as browsers send it (normalised here). Whether plain http is allowed for a host other
 * than this machine is the deployment's setting, checked by the use case (use-cases.ts).
 */
export const frameOrigin = z.string().transform((raw, ctx) => {
  const checked = checkFrameOrigin(raw, { allowHttp: true });
  if ('origin' in checked) return checked.origin;
  ctx.addIssue({ code: 'custom', message: checked.message, params: { reason: checked.reason } });
  return z.NEVER;
});
export const frameOrigins = z.array(frameOrigin).max(MAX_FRAME_ORIGINS);

export const appKeySettings = z.strictObject({
  autoEnroll: z.boolean(),
  kbaBypass: z.boolean(),
});

export const registerPartnerBody = z.strictObject({
  clientId: identifier,
  name: z.string().trim().min(1).max(200),
  trustAuth: z.boolean(),
  frameOrigins: frameOrigins.optional(),
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
    /** Replaces the list ([] removes every origin). */
    frameOrigins: frameOrigins.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one of name, trustAuth, enabled, frameOrigins', params: { reason: 'required' } });
export type UpdatePartner = z.output<typeof updatePartnerBody>;

export const clientIdParam = identifier;
export const appKeyParam = identifier;
