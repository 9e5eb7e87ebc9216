import { defineEntity, p } from '@mikro-orm/core';

/**
 * The profile picture tables (made by `Migration20261211110000_profile_pictures`; keep both in step).
 * `picture-store.ts` reads and writes them in SQL; these definitions keep the ORM's picture of the schema true.
 *
 * `user_picture`: a person's current picture. `picture_id` (random) names the stored object
 * (`pictures/<id>.webp`) and its public URL; `checked_at` is when the retention sweep last found the
 * account still there.
 */
export const UserPictureSchema = defineEntity({
  name: 'UserPicture',
  tableName: 'user_picture',
  properties: {
    userId: p.string().length(64).primary(),
    pictureId: p.uuid().unique(),
    updatedAt: p.datetime(),
    checkedAt: p.datetime(),
  },
  indexes: [{ properties: ['checkedAt'] }],
});

/**
 * `picture_job`: one upload to re-encode. `status` pending | done | failed | superseded, `reason` a
 * refusal code; `lease_until` a worker holds it until then (a crashed worker's job is taken again
 * after it); `attempts` counts the claims (a job that keeps killing its worker fails after a few);
 * `replaced_picture_id` the picture it replaced, deleted once it is done.
 */
export const PictureJobSchema = defineEntity({
  name: 'PictureJob',
  tableName: 'picture_job',
  properties: {
    id: p.uuid().primary(),
    userId: p.string().length(64),
    status: p.string().length(16),
    reason: p.string().length(48).nullable(),
    attempts: p.integer().default(0),
    leaseUntil: p.datetime().nullable(),
    replacedPictureId: p.uuid().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
  indexes: [{ properties: ['status', 'createdAt'] }, { properties: ['userId'] }],
});
