/* Internal to lib/kube: joining the pages of a paginated list (limit + continue). */
#ifndef SAQR_KUBE_PAGES_H
#define SAQR_KUBE_PAGES_H

#include <jansson.h>

/* Most pages kube_list_all follows before giving up with SAQR_ETOOBIG. */
#define KUBE_MAX_LIST_PAGES 100000

/* Fold page (a List object; borrowed) into *acc. When *acc is NULL it becomes a copy of page;
 * otherwise page's items are appended to (*acc).items and (*acc).metadata.resourceVersion
 * becomes page's. metadata.continue and metadata.remainingItemCount are dropped from *acc,
 * so the result reads as one complete list. A missing or null items counts as empty.
 * Items are shared by reference, not copied. 0, SAQR_EPARSE (page is not an object, or its
 * items is neither an array nor null; *acc is unchanged) or SAQR_ENOMEM (*acc may hold part
 * of the page; drop it). */
int kube_pages_merge(json_t **acc, const json_t *page);

/* The page's metadata.continue, or NULL when it is absent or empty (the last page). Borrowed. */
const char *kube_pages_continue(const json_t *page);

#endif
