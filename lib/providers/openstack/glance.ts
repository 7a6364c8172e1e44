/**
 * The one Glance (image v2) call warmpool makes: an image's id from its name, so a pool template may name
 * its image as operators do. An id is used as given, without asking Glance.
 */
import { z } from 'zod';
import { UnsupportedError } from '../errors.js';
import type { EndpointInterface, KeystoneSession } from './keystone.js';
import { isUuid } from './launch.js';

const ImagePageSchema = z.object({
  images: z.array(z.object({ id: z.string(), name: z.string().nullish(), status: z.string().optional() })),
});

/**
 * The id of the active image named `ref` (or `ref` itself when it is an id). Throws UnsupportedError when no
 * image or several have that name: the pool template must say which.
 */
export async function resolveImage(
  keystone: KeystoneSession,
  where: { interface: EndpointInterface; region?: string },
  ref: string,
): Promise<string> {
  if (isUuid(ref)) return ref;
  const answer = await keystone.authorized({ service: 'glance', op: 'image-list' }, (token) => {
    const base = keystone.endpointOf(token, { type: 'image', ...where });
    const url = new URL(`${/\/v2$/.test(base) ? base : `${base}/v2`}/images`);
    url.searchParams.set('name', ref);
    url.searchParams.set('status', 'active');
    return { method: 'GET', url: url.toString() };
  });
  const parsed = ImagePageSchema.safeParse(answer.body);
  const images = parsed.success ? parsed.data.images.filter((i) => i.name === ref) : [];
  if (images.length === 1) return images[0]!.id;
  throw new UnsupportedError(
    images.length === 0
      ? `openstack: no active image named "${ref}" in Glance (give the image's id or an exact name)`
      : `openstack: ${images.length} active images are named "${ref}" (give the image's id)`,
  );
}
