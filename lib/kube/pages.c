/* Merging list pages into one List, as kube_list_all returns it. */
#include "kube/pages.h"

#include "common/err.h"

const char *kube_pages_continue(const json_t *page)
{
	const char *token = json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));

	return token && *token ? token : NULL;
}

static int kube_pages_items(const json_t *page, json_t **items)
{
	json_t *v = json_object_get(page, "items");

	if (!json_is_object(page) || (v && !json_is_array(v) && !json_is_null(v)))
		return SAQR_EPARSE;
	*items = json_is_array(v) ? v : NULL;
	return 0;
}

/* Drop the paging fields from a merged list's metadata. */
static int kube_pages_seal(json_t *list, const json_t *page)
{
	json_t *meta = json_object_get(list, "metadata");
	const char *rv =
	    json_string_value(json_object_get(json_object_get(page, "metadata"), "resourceVersion"));

	if (!json_is_object(meta)) {
		meta = json_object();
		if (!meta || json_object_set_new(list, "metadata", meta))
			return SAQR_ENOMEM;
	}
	json_object_del(meta, "continue");
	json_object_del(meta, "remainingItemCount");
	if (rv && json_object_set_new(meta, "resourceVersion", json_string(rv)))
		return SAQR_ENOMEM;
	return 0;
}

static int kube_pages_first(json_t **acc, const json_t *page)
{
	json_t *first = json_deep_copy(page);
	int rc = SAQR_ENOMEM;

	if (!first)
		return SAQR_ENOMEM;
	if (!json_is_array(json_object_get(first, "items")) &&
	    json_object_set_new(first, "items", json_array()))
		goto out;
	rc = kube_pages_seal(first, page);
out:
	if (rc)
		json_decref(first);
	else
		*acc = first;
	return rc;
}

int kube_pages_merge(json_t **acc, const json_t *page)
{
	json_t *items, *all;
	int rc;

	rc = kube_pages_items(page, &items);
	if (rc)
		return rc;
	if (!*acc)
		return kube_pages_first(acc, page);
	all = json_object_get(*acc, "items");
	if (!json_is_array(all)) {
		all = json_array();
		if (!all || json_object_set_new(*acc, "items", all))
			return SAQR_ENOMEM;
	}
	if (items && json_array_extend(all, items))
		return SAQR_ENOMEM;
	return kube_pages_seal(*acc, page);
}
