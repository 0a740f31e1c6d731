/* The node table: see node_table.h for the contract.
 *
 * Nodeids are slot indexes tagged with a per-slot generation, so an id the
 * kernel sends is checked against the slot array instead of being trusted as
 * a pointer, and a slot reused for a new node gives a new id.
 *
 * Lock order: vn_table.lock is a leaf; nothing else is taken while it is held.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node_table.h"

#define VN_ROOT_ID 1
#define VN_MIN_BUCKETS 1024

static uint64_t make_id(uint32_t idx, uint32_t gen)
{
	return (uint64_t)gen << 32 | idx;
}

static size_t hash_key(size_t nbuckets, dev_t dev, ino_t ino)
{
	uint64_t x = (uint64_t)ino ^ ((uint64_t)dev * 0x9e3779b97f4a7c15ULL);

	/* splitmix64 finaliser: inode numbers are often sequential. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x & (nbuckets - 1);
}

int vn_table_init(struct vn_table *t, size_t fd_max)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->fd_max = fd_max;
	t->nbuckets = VN_MIN_BUCKETS;
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets)
		return -ENOMEM;
	return 0;
}

static void free_lower(struct vn_real *lower, int nlower)
{
	int i;

	for (i = 0; i < nlower; i++)
		free(lower[i].handle);
	free(lower);
}

/* Free a node that is no longer in the table. */
static void node_release(struct vn_node *n)
{
	free_lower(n->lower, n->nlower);
	free(n->handle);
	free(n->name);
	free(n);
}

static void garbage_fd(struct vn_garbage *g, int fd)
{
	if (g->nfds < (int)(sizeof(g->fds) / sizeof(g->fds[0])))
		g->fds[g->nfds++] = fd;
	else
		close(fd);
}

static void lru_remove(struct vn_table *t, struct vn_node *n)
{
	if (!n->lru_prev && t->lru_head != n)
		return; /* not on the list */
	if (n->lru_prev)
		n->lru_prev->lru_next = n->lru_next;
	else
		t->lru_head = n->lru_next;
	if (n->lru_next)
		n->lru_next->lru_prev = n->lru_prev;
	else
		t->lru_tail = n->lru_prev;
	n->lru_prev = n->lru_next = NULL;
}

static void lru_push(struct vn_table *t, struct vn_node *n)
{
	n->lru_prev = NULL;
	n->lru_next = t->lru_head;
	if (t->lru_head)
		t->lru_head->lru_prev = n;
	else
		t->lru_tail = n;
	t->lru_head = n;
}

/* Close idle cached fds, least recently used first, while over budget. */
static void lru_evict(struct vn_table *t, struct vn_garbage *g)
{
	while (t->nfds > t->fd_max && t->lru_tail &&
	       g->nfds < (int)(sizeof(g->fds) / sizeof(g->fds[0]))) {
		struct vn_node *n = t->lru_tail;

		lru_remove(t, n);
		garbage_fd(g, n->fd);
		n->fd = -1;
		t->nfds--;
	}
}

int vn_table_shed(struct vn_table *t, struct vn_garbage *g)
{
	size_t keep;
	int before = g->nfds;

	pthread_mutex_lock(&t->lock);
	keep = t->fd_max;
	t->fd_max = 0; /* evict as many idle fds as g holds */
	lru_evict(t, g);
	t->fd_max = keep;
	pthread_mutex_unlock(&t->lock);
	return g->nfds - before;
}

static void hash_insert(struct vn_table *t, struct vn_node *n)
{
	size_t b = hash_key(t->nbuckets, n->dev, n->ino);

	n->hnext = t->buckets[b];
	t->buckets[b] = n;
	n->hashed = 1;
	t->nhashed++;
}

/* Double the bucket array when the load factor passes 1; a failed
 * allocation just leaves longer chains. */
static void hash_grow(struct vn_table *t)
{
	struct vn_node **old = t->buckets;
	size_t oldn = t->nbuckets, i;

	if (t->nhashed < t->nbuckets)
		return;
	t->buckets = calloc(oldn * 2, sizeof(*t->buckets));
	if (!t->buckets) {
		t->buckets = old;
		return;
	}
	t->nbuckets = oldn * 2;
	t->nhashed = 0;
	for (i = 0; i < oldn; i++) {
		struct vn_node *n = old[i], *next;

		for (; n; n = next) {
			next = n->hnext;
			hash_insert(t, n);
		}
	}
	free(old);
}

static struct vn_node *hash_find(struct vn_table *t, dev_t dev, ino_t ino,
				 uint64_t alias)
{
	struct vn_node *n = t->buckets[hash_key(t->nbuckets, dev, ino)];

	for (; n; n = n->hnext)
		if (n->ino == ino && n->dev == dev && n->alias == alias)
			return n;
	return NULL;
}

static void hash_remove(struct vn_table *t, struct vn_node *n)
{
	struct vn_node **p = &t->buckets[hash_key(t->nbuckets, n->dev, n->ino)];

	if (!n->hashed)
		return;
	for (; *p; p = &(*p)->hnext) {
		if (*p == n) {
			*p = n->hnext;
			break;
		}
	}
	n->hnext = NULL;
	n->hashed = 0;
	t->nhashed--;
}

/* Give n a slot and so a nodeid. Returns 0 or -ENOMEM. */
static int slot_alloc(struct vn_table *t, struct vn_node *n)
{
	uint32_t idx;

	if (t->nfree == 0) {
		uint32_t newn = t->nslots ? t->nslots * 2 : 64;
		struct vn_node **s = realloc(t->slots, newn * sizeof(*s));
		uint32_t *gens, *fr;

		if (!s)
			return -ENOMEM;
		t->slots = s;
		gens = realloc(t->gens, newn * sizeof(*gens));
		if (!gens)
			return -ENOMEM;
		t->gens = gens;
		fr = realloc(t->free_idx, newn * sizeof(*fr));
		if (!fr)
			return -ENOMEM;
		t->free_idx = fr;
		/* Push new slots so that the lowest index is used first;
		 * slot 0 is never used and slot 1 is the root's. */
		for (idx = newn; idx-- > t->nslots;) {
			t->slots[idx] = NULL;
			t->gens[idx] = 0;
			if (idx > VN_ROOT_ID)
				t->free_idx[t->nfree++] = idx;
		}
		t->nslots = newn;
	}
	idx = t->free_idx[--t->nfree];
	t->slots[idx] = n;
	n->nodeid = make_id(idx, t->gens[idx]);
	return 0;
}

static int node_busy(const struct vn_node *n)
{
	return n->nlookup || n->nopen || n->nuse || n->nchild || n->pinned;
}

/* Called after a count of n dropped: free it if nothing holds it any more,
 * and walk up to parents whose last child this was. */
static void node_maybe_free(struct vn_table *t, struct vn_node *n,
			    struct vn_garbage *g)
{
	while (n && !node_busy(n)) {
		struct vn_node *parent = n->parent;
		uint32_t idx = (uint32_t)n->nodeid;

		hash_remove(t, n);
		lru_remove(t, n);
		if (n->fd >= 0) {
			t->nfds--;
			garbage_fd(g, n->fd);
			n->fd = -1;
		}
		t->slots[idx] = NULL;
		t->gens[idx]++;
		t->free_idx[t->nfree++] = idx;
		__atomic_store_n(&t->nnodes, t->nnodes - 1, __ATOMIC_RELAXED);
		n->hnext = g->dead;
		g->dead = n;
		n->parent = NULL;
		if (parent)
			parent->nchild--;
		n = parent;
	}
}

/* Keep the LRU list holding exactly the idle nodes with a cached fd. The
 * caller then runs lru_evict(): fds of busy nodes are not evictable, so the
 * cache may be over budget until they turn idle. */
static void node_idle_check(struct vn_table *t, struct vn_node *n)
{
	lru_remove(t, n);
	if (n->fd >= 0 && !n->pinned && !n->nuse && !n->nopen)
		lru_push(t, n);
}

struct vn_node *vn_table_set_root(struct vn_table *t,
				  struct vn_entry_key *key, int fd)
{
	struct vn_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	pthread_mutex_lock(&t->lock);
	if (t->nslots == 0 && slot_alloc(t, n) == 0) {
		/* slot_alloc() handed out index 2; the root takes 1. */
		t->slots[(uint32_t)n->nodeid] = NULL;
		t->free_idx[t->nfree++] = (uint32_t)n->nodeid;
	}
	t->slots[VN_ROOT_ID] = n;
	n->nodeid = VN_ROOT_ID;
	n->dev = key->dev;
	n->ino = key->ino;
	n->rino = key->rino;
	n->lower = key->lower;
	n->nlower = key->nlower;
	key->lower = NULL;
	key->nlower = 0;
	n->type = S_IFDIR;
	n->fd = fd;
	n->old_fd = -1;
	n->pinned = 1;
	n->mount_id = -1;
	t->nfds++;
	__atomic_store_n(&t->nnodes, t->nnodes + 1, __ATOMIC_RELAXED);
	hash_insert(t, n);
	pthread_mutex_unlock(&t->lock);
	return n;
}

struct vn_node *vn_table_get(struct vn_table *t, uint64_t nodeid)
{
	uint32_t idx = (uint32_t)nodeid, gen = (uint32_t)(nodeid >> 32);
	struct vn_node *n = NULL;

	pthread_mutex_lock(&t->lock);
	if (idx < t->nslots && t->gens[idx] == gen && t->slots[idx]) {
		n = t->slots[idx];
		n->nuse++;
		lru_remove(t, n);
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

void vn_table_put(struct vn_table *t, struct vn_node *n, struct vn_garbage *g)
{
	if (!n)
		return;
	pthread_mutex_lock(&t->lock);
	n->nuse--;
	if (!n->nuse && n->old_fd >= 0) {
		garbage_fd(g, n->old_fd);
		t->nfds--;
		n->old_fd = -1;
	}
	node_idle_check(t, n);
	lru_evict(t, g);
	node_maybe_free(t, n, g);
	pthread_mutex_unlock(&t->lock);
}

/* Birth times, where both are known, tell two objects with one inode
 * number apart as a handle's generation does. */
static int same_birth(uint64_t a, uint64_t b)
{
	return !a || !b || a == b;
}

static int same_handle(const struct file_handle *a,
		       const struct file_handle *b)
{
	if (!a || !b)
		return 1; /* cannot tell; trust (dev, ino, type) */
	return a->handle_type == b->handle_type &&
	       a->handle_bytes == b->handle_bytes &&
	       memcmp(a->f_handle, b->f_handle, a->handle_bytes) == 0;
}

/* Point n at parent/name, moving the child count (a node first seen as
 * "." or ".." keeps no parent and reopens by file handle only); an old parent that only
 * n kept is freed into g. -ENOMEM leaves n as is; so does -ELOOP, when n is
 * parent or above it (a LOOKUP of ".."): the loop would keep both forever. */
static int set_parent(struct vn_table *t, struct vn_node *n,
		      struct vn_node *parent, const char *name,
		      struct vn_garbage *g)
{
	struct vn_node *old = n->parent, *p;
	char *copy;

	/* "." and ".." name no place of their own: keep what is known. */
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (old == parent && n->name && strcmp(n->name, name) == 0)
		return 0;
	for (p = parent; p; p = p->parent)
		if (p == n)
			return -ELOOP;
	copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	free(n->name);
	n->name = copy;
	if (parent != old) {
		parent->nchild++;
		n->parent = parent;
		if (old) {
			old->nchild--;
			node_maybe_free(t, old, g);
		}
	}
	return 0;
}

/* Make key's real object n's (its handle still owned by key). */
static void take_real(struct vn_node *n, const struct vn_entry_key *key)
{
	n->dev = key->dev;
	n->ino = key->ino;
	n->alias = key->alias;
	n->layer = key->layer;
	n->handle = key->handle;
	n->mount_id = key->mount_id;
	n->birth = key->birth;
}

static struct vn_node *node_new(struct vn_table *t, struct vn_node *parent,
				const char *name, struct vn_entry_key *key)
{
	struct vn_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	take_real(n, key);
	n->type = key->type & S_IFMT;
	n->rino = key->rino;
	n->fd = -1;
	n->old_fd = -1;
	if (slot_alloc(t, n) < 0 || set_parent(t, n, parent, name, NULL) < 0) {
		if (n->nodeid) {
			uint32_t idx = (uint32_t)n->nodeid;

			t->slots[idx] = NULL;
			t->free_idx[t->nfree++] = idx;
		}
		free(n);
		return NULL;
	}
	key->handle = NULL;
	n->lower = key->lower;
	n->nlower = key->nlower;
	key->lower = NULL;
	key->nlower = 0;
	hash_grow(t);
	hash_insert(t, n);
	__atomic_store_n(&t->nnodes, t->nnodes + 1, __ATOMIC_RELAXED);
	return n;
}

struct vn_node *vn_table_enter(struct vn_table *t, struct vn_node *parent,
			       const char *name, struct vn_entry_key *key)
{
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *n;

	pthread_mutex_lock(&t->lock);
	n = hash_find(t, key->dev, key->ino, key->alias);
	if (n && (n->type != (key->type & S_IFMT) ||
		  !same_handle(n->handle, key->handle) ||
		  !same_birth(n->birth, key->birth))) {
		hash_remove(t, n); /* a reused inode number */
		n = NULL;
	}
	if (!n) {
		n = node_new(t, parent, name, key);
	} else if (n != parent && n->nodeid != VN_ROOT_ID) {
		/* Best effort: the old name still reopens it by handle. */
		set_parent(t, n, parent, name, &g);
	}
	if (n) {
		n->nlookup++;
		n->nuse++;
		lru_remove(t, n);
	}
	pthread_mutex_unlock(&t->lock);
	vn_garbage_release(&g);
	free(key->handle);
	key->handle = NULL;
	free_lower(key->lower, key->nlower);
	key->lower = NULL;
	key->nlower = 0;
	return n;
}

int vn_table_real(struct vn_table *t, struct vn_node *n, int layer,
		  struct vn_real *r)
{
	int i, err = -ENOENT;

	pthread_mutex_lock(&t->lock);
	if (layer < 0 || layer == n->layer) {
		r->layer = n->layer;
		r->dev = n->dev;
		r->ino = n->ino;
		r->handle = n->handle;
		r->mount_id = n->mount_id;
		err = 0;
	} else {
		for (i = 0; i < n->nlower && n->type == S_IFDIR; i++)
			if (n->lower[i].layer == layer) {
				*r = n->lower[i];
				err = 0;
				break;
			}
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

int vn_table_layers(struct vn_table *t, struct vn_node *n, int *layers,
		    int max)
{
	int i, count = 0;

	pthread_mutex_lock(&t->lock);
	if (max > 0)
		layers[count++] = n->layer;
	for (i = 0; i < n->nlower && n->type == S_IFDIR && count < max; i++)
		layers[count++] = n->lower[i].layer;
	pthread_mutex_unlock(&t->lock);
	return count;
}

int vn_table_copied_up(struct vn_table *t, struct vn_node *n,
		       struct vn_entry_key *key, int fd,
		       struct vn_garbage *g)
{
	struct vn_real *lower = malloc((size_t)(n->nlower + 1) *
				       sizeof(*lower));

	if (!lower) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_lock(&t->lock);
	/* The old top object goes beneath; its handle moves with it, so a
	 * reader's copy of it stays valid. */
	lower[0] = (struct vn_real){ .layer = n->layer, .dev = n->dev,
				     .ino = n->ino, .handle = n->handle,
				     .mount_id = n->mount_id };
	if (n->nlower)
		memcpy(lower + 1, n->lower, (size_t)n->nlower * sizeof(*lower));
	free(n->lower);
	n->lower = lower;
	n->nlower++;
	if (n->hashed)
		hash_remove(t, n);
	take_real(n, key);
	if (key->rino)
		__atomic_store_n(&n->rino, key->rino, __ATOMIC_RELAXED);
	key->handle = NULL;
	hash_insert(t, n);
	/* The caller holds a use reference: the old fd goes when the last
	 * one is dropped (vn_table_put), not under a request using it. */
	if (n->fd >= 0) {
		if (n->old_fd >= 0) {
			garbage_fd(g, n->old_fd);
			t->nfds--;
		}
		n->old_fd = n->fd;
	}
	n->fd = fd;
	t->nfds++;
	node_idle_check(t, n);
	lru_evict(t, g);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int vn_table_forget(struct vn_table *t, uint64_t nodeid, uint64_t count,
		    struct vn_garbage *g)
{
	uint32_t idx = (uint32_t)nodeid, gen = (uint32_t)(nodeid >> 32);
	struct vn_node *n;
	int err = -ESTALE;

	pthread_mutex_lock(&t->lock);
	if (idx < t->nslots && t->gens[idx] == gen && t->slots[idx]) {
		n = t->slots[idx];
		n->nlookup = count > n->nlookup ? 0 : n->nlookup - count;
		node_maybe_free(t, n, g);
		err = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

void vn_table_open(struct vn_table *t, struct vn_node *n, int delta,
		   struct vn_garbage *g)
{
	pthread_mutex_lock(&t->lock);
	if (delta > 0)
		n->nopen++;
	else if (n->nopen)
		n->nopen--;
	node_idle_check(t, n);
	lru_evict(t, g);
	node_maybe_free(t, n, g);
	pthread_mutex_unlock(&t->lock);
}

int vn_table_fd(struct vn_table *t, struct vn_node *n)
{
	int fd;

	pthread_mutex_lock(&t->lock);
	fd = n->fd;
	pthread_mutex_unlock(&t->lock);
	return fd;
}

int vn_table_set_fd(struct vn_table *t, struct vn_node *n, int fd,
		    struct vn_garbage *g)
{
	pthread_mutex_lock(&t->lock);
	if (n->fd >= 0) {
		garbage_fd(g, fd);
		fd = n->fd;
	} else {
		n->fd = fd;
		t->nfds++;
		lru_evict(t, g);
	}
	pthread_mutex_unlock(&t->lock);
	return fd;
}

struct vn_node *vn_table_get_parent(struct vn_table *t, struct vn_node *n,
				    char *buf, size_t size)
{
	struct vn_node *p;

	pthread_mutex_lock(&t->lock);
	p = n->parent;
	if (p) {
		p->nuse++;
		lru_remove(t, p);
		snprintf(buf, size, "%s", n->name);
	}
	pthread_mutex_unlock(&t->lock);
	return p;
}

int vn_table_moved(struct vn_table *t, dev_t dev, ino_t ino,
		   struct vn_node *parent, const char *name)
{
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *n;
	int err = 0;

	pthread_mutex_lock(&t->lock);
	n = hash_find(t, dev, ino, 0);
	if (n && n->nodeid != VN_ROOT_ID && n != parent)
		err = set_parent(t, n, parent, name, &g);
	pthread_mutex_unlock(&t->lock);
	vn_garbage_release(&g);
	return err;
}

void vn_table_gone(struct vn_table *t, dev_t dev, ino_t ino)
{
	struct vn_node *n;

	pthread_mutex_lock(&t->lock);
	n = hash_find(t, dev, ino, 0);
	if (n && n->nodeid != VN_ROOT_ID)
		hash_remove(t, n);
	pthread_mutex_unlock(&t->lock);
}

void vn_table_unhash(struct vn_table *t, struct vn_node *n)
{
	pthread_mutex_lock(&t->lock);
	if (n->hashed && n->nodeid != VN_ROOT_ID)
		hash_remove(t, n);
	pthread_mutex_unlock(&t->lock);
}

void vn_garbage_release(struct vn_garbage *g)
{
	struct vn_node *n, *next;
	int i;

	for (i = 0; i < g->nfds; i++)
		close(g->fds[i]);
	g->nfds = 0;
	for (n = g->dead; n; n = next) {
		next = n->hnext;
		node_release(n);
	}
	g->dead = NULL;
}

void vn_table_stats(struct vn_table *t, size_t *nodes, size_t *fds)
{
	pthread_mutex_lock(&t->lock);
	*nodes = t->nnodes;
	*fds = t->nfds;
	pthread_mutex_unlock(&t->lock);
}

void vn_table_held(struct vn_table *t, size_t *used, size_t *open)
{
	uint32_t i;

	*used = *open = 0;
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->nslots; i++) {
		struct vn_node *n = t->slots[i];

		if (!n)
			continue;
		*used += n->nuse > 0;
		*open += n->nopen > 0;
	}
	pthread_mutex_unlock(&t->lock);
}

size_t vn_table_count(struct vn_table *t)
{
	/* Written under the lock, read without it (FORGET asks each time). */
	return __atomic_load_n(&t->nnodes, __ATOMIC_RELAXED);
}

size_t vn_table_destroy(struct vn_table *t)
{
	size_t left = t->nnodes;
	uint32_t i;

	for (i = 0; i < t->nslots; i++) {
		struct vn_node *n = t->slots[i];

		if (!n)
			continue;
		if (n->fd >= 0)
			close(n->fd);
		if (n->old_fd >= 0)
			close(n->old_fd);
		node_release(n);
	}
	free(t->slots);
	free(t->gens);
	free(t->free_idx);
	free(t->buckets);
	pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
	return left;
}
