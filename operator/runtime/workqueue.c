/* Work queue: one item per key in a hash map, a FIFO of ready items threaded through them,
 * and a binary min-heap of items waiting for a due time. An item is in the FIFO exactly when
 * it is dirty and not being processed; it is freed once it is none of dirty, processing,
 * waiting, and has no recorded failures. */
#include "operator/runtime/workqueue.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/log.h"
#include "operator/runtime/ctrltime.h"
#include "operator/runtime/ratelimit.h"
#include "operator/runtime/strmap.h"

#define WQ_NOT_WAITING SIZE_MAX

struct wq_item {
	char *key;
	struct wq_item *next; /* FIFO link */
	size_t heap_idx;      /* WQ_NOT_WAITING when not in the heap */
	double due;	      /* monotonic seconds, while waiting */
	unsigned failures;
	bool dirty;
	bool processing;
};

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct strmap items;
	struct wq_item *head, *tail;
	size_t len;
	struct wq_item **heap;
	size_t nheap, heapcap;
	bool shutting_down;
	struct ratelimit_bucket bucket;
	struct workqueue_opts opts;
};

static void wq_item_free(void *p)
{
	struct wq_item *it = p;

	if (it)
		free(it->key);
	free(it);
}

int workqueue_new(const struct workqueue_opts *opts, struct workqueue **out)
{
	struct workqueue *q = calloc(1, sizeof(*q));

	if (!q)
		return SAQR_ENOMEM;
	if (opts)
		q->opts = *opts;
	if (q->opts.base_delay <= 0)
		q->opts.base_delay = WORKQUEUE_BASE_DELAY;
	if (q->opts.max_delay <= 0)
		q->opts.max_delay = WORKQUEUE_MAX_DELAY;
	if (q->opts.qps == 0)
		q->opts.qps = WORKQUEUE_QPS;
	if (q->opts.burst <= 0)
		q->opts.burst = WORKQUEUE_BURST;
	if (!q->opts.max_keys)
		q->opts.max_keys = WORKQUEUE_MAX_KEYS;
	if (!q->opts.clock)
		q->opts.clock = ctrltime_mono;
	if (ctrltime_cond_init(&q->cond) != 0) {
		free(q);
		return SAQR_ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	strmap_init(&q->items);
	ratelimit_bucket_init(&q->bucket, q->opts.qps, q->opts.burst, q->opts.clock());
	*out = q;
	return 0;
}

void workqueue_free(struct workqueue *q)
{
	if (!q)
		return;
	strmap_release(&q->items, wq_item_free);
	free(q->heap);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* ---- items, FIFO and heap; all with q->lock held ---- */

static int wq_item_lookup(struct workqueue *q, const char *key, bool create, struct wq_item **out)
{
	struct wq_item *it = strmap_get(&q->items, key);

	if (it || !create) {
		*out = it;
		return it ? 0 : SAQR_ENOTFOUND;
	}
	if (strmap_len(&q->items) >= q->opts.max_keys)
		return SAQR_ETOOBIG;
	it = calloc(1, sizeof(*it));
	if (!it || !(it->key = strdup(key)))
		goto nomem;
	it->heap_idx = WQ_NOT_WAITING;
	if (strmap_put(&q->items, key, it, NULL) != 0)
		goto nomem;
	*out = it;
	return 0;
nomem:
	wq_item_free(it);
	return SAQR_ENOMEM;
}

static void wq_maybe_drop(struct workqueue *q, struct wq_item *it)
{
	if (it->dirty || it->processing || it->heap_idx != WQ_NOT_WAITING || it->failures)
		return;
	strmap_remove(&q->items, it->key);
	wq_item_free(it);
}

static void wq_depth_changed(struct workqueue *q)
{
	if (q->opts.hooks.depth)
		q->opts.hooks.depth(q->opts.hooks.ud, q->len);
}

static void wq_push(struct workqueue *q, struct wq_item *it)
{
	it->next = NULL;
	if (q->tail)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->len++;
	wq_depth_changed(q);
	pthread_cond_signal(&q->cond);
}

static struct wq_item *wq_pop(struct workqueue *q)
{
	struct wq_item *it = q->head;

	q->head = it->next;
	if (!q->head)
		q->tail = NULL;
	it->next = NULL;
	q->len--;
	wq_depth_changed(q);
	return it;
}

static void wq_mark_dirty(struct workqueue *q, struct wq_item *it)
{
	if (it->dirty)
		return;
	it->dirty = true;
	if (!it->processing)
		wq_push(q, it);
}

static void wq_heap_swap(struct workqueue *q, size_t a, size_t b)
{
	struct wq_item *t = q->heap[a];

	q->heap[a] = q->heap[b];
	q->heap[b] = t;
	q->heap[a]->heap_idx = a;
	q->heap[b]->heap_idx = b;
}

static void wq_heap_up(struct workqueue *q, size_t i)
{
	while (i > 0 && q->heap[(i - 1) / 2]->due > q->heap[i]->due) {
		wq_heap_swap(q, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void wq_heap_down(struct workqueue *q, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < q->nheap && q->heap[l]->due < q->heap[m]->due)
			m = l;
		if (r < q->nheap && q->heap[r]->due < q->heap[m]->due)
			m = r;
		if (m == i)
			return;
		wq_heap_swap(q, i, m);
		i = m;
	}
}

static int wq_heap_push(struct workqueue *q, struct wq_item *it)
{
	if (q->nheap == q->heapcap) {
		size_t cap = q->heapcap ? q->heapcap * 2 : 16;
		struct wq_item **h = realloc(q->heap, cap * sizeof(struct wq_item *));

		if (!h)
			return SAQR_ENOMEM;
		q->heap = h;
		q->heapcap = cap;
	}
	it->heap_idx = q->nheap;
	q->heap[q->nheap++] = it;
	wq_heap_up(q, it->heap_idx);
	return 0;
}

static struct wq_item *wq_heap_pop(struct workqueue *q)
{
	struct wq_item *top = q->heap[0];

	q->nheap--;
	if (q->nheap) {
		q->heap[0] = q->heap[q->nheap];
		q->heap[0]->heap_idx = 0;
		wq_heap_down(q, 0);
	}
	top->heap_idx = WQ_NOT_WAITING;
	return top;
}

/* Move every item whose due time has come into the FIFO. */
static void wq_promote_due(struct workqueue *q, double now)
{
	while (q->nheap && q->heap[0]->due <= now)
		wq_mark_dirty(q, wq_heap_pop(q));
}

/* ---- adding ---- */

int workqueue_add(struct workqueue *q, const char *key)
{
	struct wq_item *it;
	int rc;

	pthread_mutex_lock(&q->lock);
	rc = q->shutting_down ? SAQR_ECLOSED : wq_item_lookup(q, key, true, &it);
	if (rc == 0)
		wq_mark_dirty(q, it);
	pthread_mutex_unlock(&q->lock);
	return rc;
}

static int wq_schedule(struct workqueue *q, struct wq_item *it, double due)
{
	int rc = 0;

	if (it->heap_idx != WQ_NOT_WAITING) {
		if (due < it->due) {
			it->due = due;
			wq_heap_up(q, it->heap_idx);
		}
	} else {
		it->due = due;
		rc = wq_heap_push(q, it);
	}
	/* A new earliest due time: sleeping getters must recompute their deadline. */
	if (rc == 0 && q->heap[0] == it)
		pthread_cond_broadcast(&q->cond);
	return rc;
}

int workqueue_add_after(struct workqueue *q, const char *key, double delay)
{
	struct wq_item *it;
	int rc;

	if (delay <= 0)
		return workqueue_add(q, key);
	pthread_mutex_lock(&q->lock);
	rc = q->shutting_down ? SAQR_ECLOSED : wq_item_lookup(q, key, true, &it);
	if (rc == 0) {
		rc = wq_schedule(q, it, ctrltime_mono() + delay);
		if (rc)
			wq_maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

double workqueue_rate_limit_delay(struct workqueue *q, const char *key)
{
	struct wq_item *it = NULL;
	unsigned failures = 0;
	double backoff, wait;

	pthread_mutex_lock(&q->lock);
	if (wq_item_lookup(q, key, true, &it) == 0)
		failures = it->failures++;
	backoff = ratelimit_backoff(q->opts.base_delay, q->opts.max_delay, failures);
	wait = ratelimit_bucket_reserve(&q->bucket, q->opts.clock());
	pthread_mutex_unlock(&q->lock);
	return backoff > wait ? backoff : wait;
}

int workqueue_add_rate_limited(struct workqueue *q, const char *key)
{
	if (q->opts.hooks.retry)
		q->opts.hooks.retry(q->opts.hooks.ud, key);
	return workqueue_add_after(q, key, workqueue_rate_limit_delay(q, key));
}

void workqueue_forget(struct workqueue *q, const char *key)
{
	struct wq_item *it;

	pthread_mutex_lock(&q->lock);
	if (wq_item_lookup(q, key, false, &it) == 0) {
		it->failures = 0;
		wq_maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->lock);
}

unsigned workqueue_num_requeues(struct workqueue *q, const char *key)
{
	struct wq_item *it;
	unsigned n = 0;

	pthread_mutex_lock(&q->lock);
	if (wq_item_lookup(q, key, false, &it) == 0)
		n = it->failures;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* ---- getting ---- */

static void wq_wait(struct workqueue *q)
{
	if (q->nheap)
		ctrltime_cond_wait_until(&q->cond, &q->lock, q->heap[0]->due);
	else
		pthread_cond_wait(&q->cond, &q->lock);
}

int workqueue_get(struct workqueue *q, char **key)
{
	struct wq_item *it = NULL;
	char *copy;
	int rc = 0;

	pthread_mutex_lock(&q->lock);
	while (!it) {
		if (q->shutting_down) {
			rc = SAQR_ECLOSED;
			goto out;
		}
		wq_promote_due(q, ctrltime_mono());
		if (q->head)
			it = wq_pop(q);
		else
			wq_wait(q);
	}
	copy = strdup(it->key);
	if (!copy) {
		/* Give the key back at the front so it is not lost. */
		it->next = q->head;
		q->head = it;
		if (!q->tail)
			q->tail = it;
		q->len++;
		wq_depth_changed(q);
		rc = SAQR_ENOMEM;
		goto out;
	}
	it->processing = true;
	it->dirty = false;
	*key = copy;
	if (q->head)
		pthread_cond_signal(&q->cond);
out:
	pthread_mutex_unlock(&q->lock);
	return rc;
}

void workqueue_done(struct workqueue *q, const char *key)
{
	struct wq_item *it;

	pthread_mutex_lock(&q->lock);
	if (wq_item_lookup(q, key, false, &it) == 0 && it->processing) {
		it->processing = false;
		if (it->dirty)
			wq_push(q, it);
		else
			wq_maybe_drop(q, it);
	}
	pthread_mutex_unlock(&q->lock);
}

void workqueue_shut_down(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->shutting_down = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

bool workqueue_shutting_down(struct workqueue *q)
{
	bool v;

	pthread_mutex_lock(&q->lock);
	v = q->shutting_down;
	pthread_mutex_unlock(&q->lock);
	return v;
}

size_t workqueue_len(struct workqueue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	wq_promote_due(q, ctrltime_mono());
	n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

size_t workqueue_waiting(struct workqueue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->nheap;
	pthread_mutex_unlock(&q->lock);
	return n;
}

/* ---- workers ---- */

struct workqueue_workers {
	struct workqueue *q;
	workqueue_reconcile_fn fn;
	void *ud;
	int n;
	pthread_t threads[];
};

static void wq_settle(struct workqueue *q, const char *key, struct workqueue_result res)
{
	if (res.err < 0 || (res.requeue && res.requeue_after <= 0)) {
		workqueue_add_rate_limited(q, key);
		return;
	}
	workqueue_forget(q, key);
	if (res.requeue_after > 0)
		workqueue_add_after(q, key, res.requeue_after);
}

static void *wq_worker(void *arg)
{
	struct workqueue_workers *w = arg;
	char *key;
	int rc;

	while ((rc = workqueue_get(w->q, &key)) != SAQR_ECLOSED) {
		if (rc != 0) {
			struct timespec ts = {0, 10000000L};

			nanosleep(&ts, NULL); /* out of memory: let it recover */
			continue;
		}
		wq_settle(w->q, key, w->fn(w->ud, key));
		workqueue_done(w->q, key);
		free(key);
	}
	return NULL;
}

int workqueue_run_workers(struct workqueue *q, int n, workqueue_reconcile_fn fn, void *ud,
			  struct workqueue_workers **out)
{
	struct workqueue_workers *w;

	if (n < 1 || !fn)
		return SAQR_EINVAL;
	w = calloc(1, sizeof(*w) + (size_t)n * sizeof(pthread_t));
	if (!w)
		return SAQR_ENOMEM;
	w->q = q;
	w->fn = fn;
	w->ud = ud;
	for (; w->n < n; w->n++)
		if (pthread_create(&w->threads[w->n], NULL, wq_worker, w) != 0)
			break;
	if (w->n == 0) {
		free(w);
		return SAQR_ENOMEM;
	}
	if (w->n < n)
		log_kv(LOG_LVL_WARN, "workqueue: fewer worker threads than asked", (char *)NULL);
	*out = w;
	return 0;
}

void workqueue_workers_join(struct workqueue_workers *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->n; i++)
		pthread_join(w->threads[i], NULL);
	free(w);
}
