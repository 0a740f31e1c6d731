/* Unit tests for the node table (src/node_table.c): nodeids and their
 * generations, lookup/open/use counts, the (dev, ino) hash, parents and the
 * fd cache. Single-threaded; it inspects struct fields directly, which the
 * header makes public for this purpose.
 *
 * Every garbage list is released, and the process must end with the fds it
 * started with, so a run under valgrind (make check-valgrind) shows no
 * leaks of memory or fds.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "node_table.h"

#define DEV 7
#define ROOT_INO 2

/* An fd for the table to cache and close: any open file will do. */
static int new_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		perror("/dev/null");
		exit(99);
	}
	return fd;
}

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static int count_open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 4096; fd++)
		n += fd_is_open(fd);
	return n;
}

/* A file handle as name_to_handle_at() would return it. */
static struct file_handle *new_handle(int type, const char *bytes)
{
	size_t len = strlen(bytes);
	struct file_handle *fh = malloc(sizeof(*fh) + len);

	if (!fh)
		exit(99);
	fh->handle_bytes = len;
	fh->handle_type = type;
	memcpy(fh->f_handle, bytes, len);
	return fh;
}

/* Garbage lists vn_garbage_release() left non-empty; checked once at the
 * end rather than once per call, to keep the tally meaningful. */
static int unreleased;

/* Release g and return how many nodes it held. */
static int release(struct vn_garbage *g)
{
	struct vn_node *n;
	int dead = 0;

	for (n = g->dead; n; n = n->hnext)
		dead++;
	vn_garbage_release(g);
	unreleased += g->nfds != 0 || g->dead != NULL;
	return dead;
}

static struct vn_node *set_root(struct vn_table *t, int fd)
{
	struct vn_entry_key key = { .dev = DEV, .ino = ROOT_INO,
				    .rino = ROOT_INO, .mount_id = -1 };

	return vn_table_set_root(t, &key, fd);
}

static struct vn_node *setup(struct vn_table *t, size_t fd_max)
{
	struct vn_node *root;

	CHECK(vn_table_init(t, fd_max) == 0);
	root = set_root(t, new_fd());
	CHECK(root != NULL);
	return root;
}

/* A node as a LOOKUP would enter it; the caller holds a use reference. */
static struct vn_node *enter(struct vn_table *t, struct vn_node *parent,
			     const char *name, ino_t ino, mode_t type)
{
	struct vn_entry_key key = {
		.dev = DEV, .ino = ino, .type = type, .mount_id = -1,
	};

	return vn_table_enter(t, parent, name, &key);
}

static struct vn_node *enter_handle(struct vn_table *t,
				    struct vn_node *parent, const char *name,
				    ino_t ino, struct file_handle *fh)
{
	struct vn_entry_key key = {
		.dev = DEV, .ino = ino, .type = S_IFREG | 0600,
		.handle = fh, .mount_id = 3,
	};
	struct vn_node *n = vn_table_enter(t, parent, name, &key);

	CHECK(key.handle == NULL); /* consumed either way */
	return n;
}

static void put(struct vn_table *t, struct vn_node *n)
{
	struct vn_garbage g = { .nfds = 0 };

	vn_table_put(t, n, &g);
	release(&g);
}

/* A whole LOOKUP: enter, drop the use reference, return the nodeid. */
static uint64_t lookup(struct vn_table *t, struct vn_node *parent,
		       const char *name, ino_t ino, mode_t type)
{
	struct vn_node *n = enter(t, parent, name, ino, type);
	uint64_t id;

	if (!n)
		return 0;
	id = n->nodeid;
	put(t, n);
	return id;
}

/* FORGET: how many nodes it freed, or -ESTALE. */
static int forget(struct vn_table *t, uint64_t id, uint64_t count)
{
	struct vn_garbage g = { .nfds = 0 };
	int err = vn_table_forget(t, id, count, &g);
	int dead = release(&g);

	return err < 0 ? err : dead;
}

/* Whether id resolves. Moves an idle node to the LRU head. */
static int alive(struct vn_table *t, uint64_t id)
{
	struct vn_node *n = vn_table_get(t, id);

	if (!n)
		return 0;
	put(t, n);
	return 1;
}

/* The node behind a live id, without keeping a reference. */
static struct vn_node *peek(struct vn_table *t, uint64_t id)
{
	struct vn_node *n = vn_table_get(t, id);

	if (n)
		put(t, n);
	return n;
}

static void open_node(struct vn_table *t, struct vn_node *n, int delta)
{
	struct vn_garbage g = { .nfds = 0 };

	vn_table_open(t, n, delta, &g);
	release(&g);
}

/* Install a fresh fd on n (which the caller holds); returns it. */
static int give_fd(struct vn_table *t, struct vn_node *n)
{
	struct vn_garbage g = { .nfds = 0 };
	int fd = new_fd();

	CHECK(vn_table_set_fd(t, n, fd, &g) == fd);
	release(&g);
	return fd;
}

/* Walk the LRU checking its links and that it holds only idle, unpinned
 * nodes with a cached fd. Returns its length, or -1 if it is broken. */
static int lru_check(struct vn_table *t)
{
	struct vn_node *n, *prev = NULL;
	int len = 0;

	for (n = t->lru_head; n; prev = n, n = n->lru_next) {
		if (n->lru_prev != prev || n->fd < 0 || n->pinned || n->nuse ||
		    n->nopen || ++len > (int)t->nnodes)
			return -1;
	}
	return t->lru_tail == prev ? len : -1;
}

static void test_init(void)
{
	struct vn_garbage g = { .nfds = 0 };
	struct vn_table t;

	CHECK(vn_table_init(&t, 4) == 0);
	CHECK(vn_table_count(&t) == 0);
	CHECK(t.fd_max == 4 && t.nfds == 0 && t.nhashed == 0);
	CHECK(t.nbuckets > 0 && (t.nbuckets & (t.nbuckets - 1)) == 0);
	CHECK(t.lru_head == NULL && t.lru_tail == NULL);
	CHECK(vn_table_get(&t, 1) == NULL);
	CHECK(vn_table_forget(&t, 1, 1, &g) == -ESTALE);
	release(&g);
	CHECK(vn_table_destroy(&t) == 0);
}

static void test_root(void)
{
	char name[NAME_MAX + 1] = "unchanged";
	struct vn_node *root, *n;
	struct vn_table t;
	int fd = new_fd();

	CHECK(vn_table_init(&t, 4) == 0);
	root = set_root(&t, fd);
	CHECK(root && root->nodeid == 1);
	CHECK(root->pinned && root->fd == fd && root->type == S_IFDIR);
	CHECK(root->dev == DEV && root->ino == ROOT_INO && root->hashed);
	CHECK(vn_table_count(&t) == 1 && t.nfds == 1);
	n = vn_table_get(&t, 1);
	CHECK(n == root && root->nuse == 1);
	CHECK(vn_table_fd(&t, n) == fd);
	CHECK(vn_table_get_parent(&t, root, name, sizeof(name)) == NULL);
	CHECK(strcmp(name, "unchanged") == 0);
	put(&t, n);
	CHECK(root->nuse == 0 && lru_check(&t) == 0);
	/* Forgetting the root more than it was looked up keeps it. */
	CHECK(forget(&t, 1, 100) == 0);
	CHECK(alive(&t, 1) && vn_table_count(&t) == 1);
	/* "." in the root is the root, and does not become its own child. */
	n = enter(&t, root, ".", ROOT_INO, S_IFDIR);
	CHECK(n == root && root->nlookup == 1 && root->nuse == 1);
	CHECK(root->parent == NULL && root->nchild == 0);
	put(&t, n);
	/* Nothing moves or unhashes the root. */
	CHECK(vn_table_moved(&t, DEV, ROOT_INO, root, "x") == 0 && !root->parent);
	vn_table_moved(&t, DEV, ROOT_INO, root, "y");
	CHECK(root->parent == NULL && root->name == NULL);
	vn_table_gone(&t, DEV, ROOT_INO);
	CHECK(root->hashed);
	CHECK(forget(&t, 1, 1) == 0 && root->nlookup == 0);
	CHECK(fd_is_open(fd) && lru_check(&t) == 0);
	CHECK(vn_table_destroy(&t) == 1);
	CHECK(!fd_is_open(fd));
}

static void test_enter(void)
{
	struct vn_entry_key key = {
		.dev = DEV, .ino = 100, .type = S_IFREG | 0644, .mount_id = -1,
	};
	struct vn_node *root, *a, *b, *d, *other;
	struct vn_table t;
	uint64_t id, did, cid, oid;

	root = setup(&t, 16);
	a = vn_table_enter(&t, root, "a", &key);
	CHECK(a && a->nodeid != 0 && a->nodeid != 1);
	CHECK(a->nlookup == 1 && a->nuse == 1 && a->nopen == 0);
	CHECK(a->dev == DEV && a->ino == 100 && a->type == S_IFREG);
	CHECK(a->parent == root && strcmp(a->name, "a") == 0);
	CHECK(root->nchild == 1 && a->fd == -1 && a->hashed);
	CHECK(a->handle == NULL && a->mount_id == -1);
	CHECK(vn_table_count(&t) == 2);
	id = a->nodeid;
	put(&t, a);
	CHECK(a->nuse == 0 && a->nlookup == 1);
	CHECK(peek(&t, id) == a);

	/* The same file, a hard link in another directory. */
	did = lookup(&t, root, "d", 101, S_IFDIR);
	d = peek(&t, did);
	CHECK(d && did != id);
	b = enter(&t, d, "b", 100, S_IFREG);
	CHECK(b == a && a->nodeid == id && a->nlookup == 2 && a->nuse == 1);
	CHECK(a->parent == d && strcmp(a->name, "b") == 0);
	CHECK(root->nchild == 1 && d->nchild == 1);
	CHECK(vn_table_count(&t) == 3);
	put(&t, b);

	/* Other keys are other nodes: another inode, or the same inode
	 * number on another device. */
	cid = lookup(&t, root, "c", 102, S_IFREG);
	CHECK(cid && cid != id && cid != did);
	key = (struct vn_entry_key){ .dev = DEV + 1, .ino = 100,
				     .type = S_IFREG, .mount_id = -1 };
	other = vn_table_enter(&t, root, "a", &key);
	CHECK(other && other != a && other->dev == DEV + 1);
	oid = other->nodeid;
	put(&t, other);
	CHECK(vn_table_count(&t) == 5);

	/* FORGET down to zero frees it and makes its id stale. */
	CHECK(forget(&t, id, 1) == 0);
	CHECK(alive(&t, id) && a->nlookup == 1);
	CHECK(forget(&t, id, 1) == 1);
	CHECK(vn_table_count(&t) == 4 && d->nchild == 0);
	CHECK(!alive(&t, id));
	CHECK(forget(&t, id, 1) == -ESTALE);
	CHECK(vn_table_count(&t) == 4);
	CHECK(forget(&t, oid, 1) == 1 && forget(&t, cid, 1) == 1);
	CHECK(vn_table_destroy(&t) == 2);
}

/* Slots are reused, nodeids never (until the generation wraps). */
static void test_generation(void)
{
	enum { N = 200 };
	uint64_t ids[N];
	struct vn_node *root;
	struct vn_table t;
	int i, j, dup = 0, reused = 0, stale = 0;

	root = setup(&t, 16);
	for (i = 0; i < N; i++) {
		/* Half of them look the same object up again. */
		ids[i] = lookup(&t, root, "f", 1000 + i % 2, S_IFREG);
		CHECK(ids[i] > 1);
		for (j = 0; j < i; j++) {
			dup += ids[j] == ids[i];
			reused += (uint32_t)ids[j] == (uint32_t)ids[i];
		}
		CHECK(forget(&t, ids[i], 1) == 1);
	}
	CHECK(dup == 0);
	CHECK(reused > 0);
	for (i = 0; i < N; i++)
		stale += !alive(&t, ids[i]) && forget(&t, ids[i], 1) == -ESTALE;
	CHECK(stale == N);
	CHECK(vn_table_count(&t) == 1 && root->nchild == 0);
	CHECK(vn_table_destroy(&t) == 1);
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void test_unknown_ids(void)
{
	struct vn_node *root;
	struct vn_table t;
	uint64_t a, s = 88172645463325252ULL;
	int i, bad = 0;

	root = setup(&t, 16);
	a = lookup(&t, root, "a", 10, S_IFREG);
	{
		const uint64_t ids[] = {
			0, 2 + (a == 2), 63, 64, 65, 4096, UINT32_MAX,
			1ULL << 32, 1 | (1ULL << 32), a | (1ULL << 32),
			a ^ (1ULL << 63), a + 1, UINT64_MAX, UINT64_MAX - 1,
		};

		for (i = 0; i < (int)(sizeof(ids) / sizeof(ids[0])); i++) {
			CHECK(vn_table_get(&t, ids[i]) == NULL);
			CHECK(forget(&t, ids[i], 1) == -ESTALE);
		}
	}
	/* Random ids, half of them with a small slot index. */
	for (i = 0; i < 100000; i++) {
		uint64_t id = xorshift(&s);

		if (i & 1)
			id &= 0xffff00000000003fULL;
		if (id == a || id == 1)
			continue;
		bad += vn_table_get(&t, id) != NULL;
		bad += forget(&t, id, 1) != -ESTALE;
	}
	CHECK(bad == 0);
	CHECK(vn_table_count(&t) == 2 && alive(&t, a) && alive(&t, 1));
	CHECK(peek(&t, a)->nlookup == 1 && root->nlookup == 0);
	CHECK(forget(&t, a, 1) == 1);
	CHECK(vn_table_destroy(&t) == 1);
}

static void test_counts(void)
{
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *root, *n;
	struct vn_table t;
	uint64_t id;

	root = setup(&t, 16);
	/* FORGET of more than held clamps to zero. */
	lookup(&t, root, "a", 10, S_IFREG);
	lookup(&t, root, "a", 10, S_IFREG);
	id = lookup(&t, root, "a", 10, S_IFREG);
	CHECK(peek(&t, id)->nlookup == 3);
	CHECK(forget(&t, id, 1000) == 1 && vn_table_count(&t) == 1);
	id = lookup(&t, root, "b", 11, S_IFREG);
	CHECK(forget(&t, id, UINT64_MAX) == 1 && vn_table_count(&t) == 1);
	id = lookup(&t, root, "c", 12, S_IFREG);
	CHECK(forget(&t, id, 0) == 0 && peek(&t, id)->nlookup == 1);
	CHECK(forget(&t, id, 1) == 1);

	/* Forgetting the last lookup while a use reference is held keeps the
	 * node. */
	n = enter(&t, root, "d", 13, S_IFREG);
	id = n->nodeid;
	vn_table_forget(&t, n->nodeid, 1, &g);
	CHECK(release(&g) == 0 && n->nlookup == 0 && alive(&t, id));
	vn_table_forget(&t, n->nodeid, 1, &g); /* clamps */
	CHECK(release(&g) == 0 && n->nlookup == 0);
	vn_table_put(&t, n, &g);
	CHECK(release(&g) == 1 && !alive(&t, id));

	/* A use reference outlives the kernel's lookups. */
	n = enter(&t, root, "e", 14, S_IFREG);
	id = n->nodeid;
	CHECK(forget(&t, id, 1) == 0 && n->nlookup == 0);
	CHECK(vn_table_get(&t, id) == n && n->nuse == 2);
	put(&t, n);
	CHECK(n->nuse == 1 && vn_table_count(&t) == 2);
	vn_table_put(&t, n, &g);
	CHECK(release(&g) == 1 && !alive(&t, id));
	CHECK(vn_table_count(&t) == 1 && root->nchild == 0);
	CHECK(vn_table_destroy(&t) == 1);
}

static void test_open(void)
{
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *root, *n, *m;
	struct vn_table t;
	uint64_t id;

	root = setup(&t, 16);
	n = enter(&t, root, "o", 20, S_IFREG);
	id = n->nodeid;
	open_node(&t, n, +1);
	put(&t, n);
	CHECK(n->nopen == 1 && n->nuse == 0);
	/* The kernel forgets it while a file is open: it stays, READ and
	 * RELEASE still name it. */
	CHECK(forget(&t, id, 1) == 0);
	CHECK(n->nlookup == 0 && vn_table_count(&t) == 2 && alive(&t, id));
	open_node(&t, n, +1);
	open_node(&t, n, -1);
	CHECK(n->nopen == 1 && alive(&t, id));
	/* RELEASE as the daemon does it: under a use reference. */
	m = vn_table_get(&t, id);
	CHECK(m == n);
	vn_table_open(&t, m, -1, &g);
	CHECK(release(&g) == 0 && n->nopen == 0 && alive(&t, id));
	vn_table_put(&t, m, &g);
	CHECK(release(&g) == 1 && !alive(&t, id));
	CHECK(vn_table_count(&t) == 1);

	/* The last close with no other reference frees at once. */
	n = enter(&t, root, "p", 21, S_IFREG);
	id = n->nodeid;
	open_node(&t, n, +1);
	put(&t, n);
	CHECK(forget(&t, id, 1) == 0 && alive(&t, id));
	vn_table_open(&t, n, -1, &g);
	CHECK(release(&g) == 1 && !alive(&t, id));

	/* A close without an open does not wrap the count. */
	id = lookup(&t, root, "q", 22, S_IFREG);
	open_node(&t, peek(&t, id), -1);
	CHECK(peek(&t, id)->nopen == 0 && alive(&t, id));
	CHECK(forget(&t, id, 1) == 1);
	CHECK(vn_table_count(&t) == 1 && root->nchild == 0);
	CHECK(vn_table_destroy(&t) == 1);
}

/* A child keeps its parent (it may be reopened by name in it); the last
 * child going frees the chain above it. */
static void test_parent_cascade(void)
{
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *root, *d, *e, *f, *f2;
	struct vn_table t;
	int dfd;

	root = setup(&t, 16);
	d = enter(&t, root, "d", 30, S_IFDIR);
	e = enter(&t, d, "e", 31, S_IFDIR);
	f = enter(&t, e, "f", 32, S_IFREG);
	f2 = enter(&t, e, "f2", 33, S_IFREG);
	dfd = give_fd(&t, d);
	put(&t, d);
	put(&t, e);
	put(&t, f);
	put(&t, f2);
	CHECK(root->nchild == 1 && d->nchild == 1 && e->nchild == 2);
	CHECK(t.nfds == 2 && lru_check(&t) == 1);

	CHECK(forget(&t, d->nodeid, 1) == 0);
	CHECK(forget(&t, e->nodeid, 1) == 0);
	CHECK(vn_table_count(&t) == 5 && d->fd == dfd);
	CHECK(forget(&t, f->nodeid, 1) == 1);
	CHECK(vn_table_count(&t) == 4 && e->nchild == 1);

	/* f2 goes: e and then d go with it, d's cached fd into g. */
	{
		uint64_t did = d->nodeid, eid = e->nodeid;

		CHECK(vn_table_forget(&t, f2->nodeid, 1, &g) == 0);
		CHECK(g.nfds == 1 && g.fds[0] == dfd);
		CHECK(release(&g) == 3);
		CHECK(!fd_is_open(dfd));
		CHECK(!alive(&t, did) && !alive(&t, eid));
	}
	CHECK(vn_table_count(&t) == 1 && root->nchild == 0);
	CHECK(t.nfds == 1 && lru_check(&t) == 0);
	CHECK(vn_table_destroy(&t) == 1);
}

/* An inode number reused after a delete is another object. */
static void test_inode_reuse(void)
{
	struct vn_node *root, *o, *n;
	struct vn_table t;
	uint64_t oid, nid;

	root = setup(&t, 16);
	oid = lookup(&t, root, "x", 200, S_IFREG);
	n = enter(&t, root, "y", 200, S_IFDIR);
	CHECK(n && n->nodeid != oid && n->type == S_IFDIR && n->hashed);
	nid = n->nodeid;
	put(&t, n);
	o = peek(&t, oid);
	CHECK(o && o != n && !o->hashed && o->type == S_IFREG);
	CHECK(o->nlookup == 1 && strcmp(o->name, "x") == 0);
	CHECK(vn_table_count(&t) == 3 && t.nhashed == 2);
	CHECK(lookup(&t, root, "y", 200, S_IFDIR) == nid);
	CHECK(n->nlookup == 2);
	/* Freeing the unhashed node leaves the hash alone. */
	CHECK(forget(&t, oid, 1) == 1 && !alive(&t, oid));
	CHECK(lookup(&t, root, "y", 200, S_IFDIR) == nid && n->nlookup == 3);
	CHECK(forget(&t, nid, 3) == 1);
	CHECK(vn_table_count(&t) == 1 && t.nhashed == 1);

	/* vn_table_gone: the object is gone, its number may come back. */
	oid = lookup(&t, root, "u", 300, S_IFREG);
	vn_table_gone(&t, DEV, 300);
	CHECK(!peek(&t, oid)->hashed && alive(&t, oid));
	nid = lookup(&t, root, "u", 300, S_IFREG);
	CHECK(nid && nid != oid && alive(&t, oid));
	CHECK(forget(&t, oid, 1) == 1 && forget(&t, nid, 1) == 1);
	CHECK(vn_table_count(&t) == 1 && t.nhashed == 1);
	CHECK(vn_table_destroy(&t) == 1);
}

/* Same (dev, ino, type) but another file handle: another object. */
static void test_handles(void)
{
	struct vn_node *root, *n1, *n, *n2, *n3, *n4;
	struct file_handle *h1 = new_handle(1, "abcdefgh");
	struct vn_table t;

	root = setup(&t, 16);
	n1 = enter_handle(&t, root, "h", 400, h1);
	CHECK(n1 && n1->handle == h1 && n1->mount_id == 3);
	put(&t, n1);
	/* An equal handle in another buffer, or none: the same node. */
	n = enter_handle(&t, root, "h", 400, new_handle(1, "abcdefgh"));
	CHECK(n == n1 && n1->handle == h1 && n1->nlookup == 2);
	put(&t, n);
	n = enter_handle(&t, root, "h", 400, NULL);
	CHECK(n == n1 && n1->nlookup == 3);
	put(&t, n);
	/* Other bytes, another type, another length. */
	n2 = enter_handle(&t, root, "h", 400, new_handle(1, "abcdefgX"));
	CHECK(n2 && n2 != n1 && !n1->hashed && n2->hashed);
	put(&t, n2);
	n3 = enter_handle(&t, root, "h", 400, new_handle(2, "abcdefgX"));
	CHECK(n3 && n3 != n2 && !n2->hashed);
	put(&t, n3);
	n4 = enter_handle(&t, root, "h", 400, new_handle(2, "abcdefgX9"));
	CHECK(n4 && n4 != n3 && !n3->hashed && n4->hashed);
	CHECK(n4->handle->handle_bytes == 9);
	put(&t, n4);
	CHECK(vn_table_count(&t) == 5 && t.nhashed == 2);
	CHECK(alive(&t, n1->nodeid) && alive(&t, n2->nodeid));
	CHECK(forget(&t, n1->nodeid, 3) == 1);
	CHECK(forget(&t, n2->nodeid, 1) == 1);
	CHECK(forget(&t, n3->nodeid, 1) == 1);
	/* n4 stays for vn_table_destroy() to free, handle included. */
	CHECK(vn_table_destroy(&t) == 2);
}

/* fd_max 4 with the root's pinned fd: three more stay cached. */
static void test_fd_lru(void)
{
	enum { N = 10 };
	struct vn_node *root, *n[N + 1];
	struct vn_garbage g = { .nfds = 0 };
	int fds[N + 1], rootfd, i, released = 0, fd;
	struct vn_table t;

	root = setup(&t, 4);
	rootfd = root->fd;
	for (i = 0; i < N; i++) {
		n[i] = enter(&t, root, "f", 500 + i, S_IFREG);
		fds[i] = new_fd();
		CHECK(vn_table_set_fd(&t, n[i], fds[i], &g) == fds[i]);
		CHECK(n[i]->fd == fds[i] && vn_table_fd(&t, n[i]) == fds[i]);
		/* The least recently used idle fd goes first. */
		if (i >= 3)
			CHECK(g.nfds == 1 && g.fds[0] == fds[i - 3]);
		else
			CHECK(g.nfds == 0);
		released += g.nfds;
		CHECK(release(&g) == 0);
		if (i >= 3)
			CHECK(!fd_is_open(fds[i - 3]) && n[i - 3]->fd == -1);
		put(&t, n[i]);
		CHECK(t.nfds <= t.fd_max);
		CHECK(lru_check(&t) == (int)t.nfds - 1);
	}
	CHECK(released == N - 3 && t.nfds == 4);
	for (i = 0; i < N - 3; i++)
		CHECK(n[i]->fd == -1 && n[i]->nlookup == 1);
	for (i = N - 3; i < N; i++)
		CHECK(n[i]->fd == fds[i]);
	CHECK(root->fd == rootfd && fd_is_open(rootfd));

	/* Using n[7] makes n[8] the least recently used. */
	CHECK(alive(&t, n[7]->nodeid));
	n[N] = enter(&t, root, "f", 500 + N, S_IFREG);
	fds[N] = give_fd(&t, n[N]);
	put(&t, n[N]);
	CHECK(n[8]->fd == -1 && n[7]->fd == fds[7] && n[9]->fd == fds[9]);
	CHECK(t.nfds == 4 && lru_check(&t) == 3);

	/* An evicted node gets an fd again; n[9] is now the oldest. */
	CHECK(vn_table_get(&t, n[0]->nodeid) == n[0]);
	fd = give_fd(&t, n[0]);
	CHECK(vn_table_fd(&t, n[0]) == fd);
	put(&t, n[0]);
	CHECK(n[9]->fd == -1 && n[7]->fd == fds[7] && n[N]->fd == fds[N]);
	CHECK(t.nfds == 4 && lru_check(&t) == 3);

	/* Freeing a node on the LRU takes it off the list. */
	CHECK(vn_table_forget(&t, n[7]->nodeid, 1, &g) == 0);
	CHECK(g.nfds == 1 && g.fds[0] == fds[7] && release(&g) == 1);
	CHECK(t.nfds == 3 && lru_check(&t) == 2);
	for (i = 0; i <= N; i++)
		if (i != 7)
			CHECK(forget(&t, n[i]->nodeid, 1) == 1);
	CHECK(t.nfds == 1 && lru_check(&t) == 0 && t.lru_tail == NULL);
	CHECK(vn_table_count(&t) == 1 && root->fd == rootfd);
	CHECK(vn_table_destroy(&t) == 1);
}

/* Nodes in use or open keep their fds; once idle they count again. */
static void test_fd_busy(void)
{
	struct vn_node *root, *a, *b, *c, *x;
	struct vn_table t;
	uint64_t cid;
	int fa, fb, fc, i, ok = 1;

	root = setup(&t, 4);
	a = enter(&t, root, "a", 600, S_IFREG); /* in use */
	fa = give_fd(&t, a);
	b = enter(&t, root, "b", 601, S_IFREG); /* open */
	open_node(&t, b, +1);
	fb = give_fd(&t, b);
	put(&t, b);
	c = enter(&t, root, "c", 602, S_IFREG); /* in use, forgotten */
	fc = give_fd(&t, c);
	cid = c->nodeid;
	CHECK(forget(&t, cid, 1) == 0);
	CHECK(t.nfds == 4 && lru_check(&t) == 0);

	for (i = 0; i < 10; i++) {
		x = enter(&t, root, "x", 610 + i, S_IFREG);
		give_fd(&t, x);
		put(&t, x);
		ok &= a->fd == fa && b->fd == fb && c->fd == fc;
		ok &= root->fd >= 0 && lru_check(&t) >= 0;
		/* Nothing else to evict: x's fd goes once x is idle. */
		CHECK(t.nfds <= t.fd_max && x->fd == -1);
	}
	CHECK(ok);
	CHECK(fd_is_open(fa) && fd_is_open(fb) && fd_is_open(fc));

	/* a idle, b closed, c gone: the cache shrinks back to its bound. */
	put(&t, a);
	CHECK(t.nfds <= t.fd_max && lru_check(&t) >= 1);
	open_node(&t, b, -1);
	CHECK(t.nfds <= t.fd_max && lru_check(&t) >= 1);
	put(&t, c);
	CHECK(!alive(&t, cid));
	CHECK(t.nfds <= t.fd_max && lru_check(&t) >= 0);
	CHECK(vn_table_count(&t) == 13);
	CHECK(vn_table_destroy(&t) == 13);
}

/* Files held open are never evicted, and once closed the cache shrinks
 * back to its bound instead of waiting for the next set_fd. */
static void test_fd_many_open(void)
{
	enum { N = 30 };
	struct vn_node *root, *n[N];
	struct vn_table t;
	int i, evicted = 0;

	root = setup(&t, 4);
	for (i = 0; i < N; i++) {
		n[i] = enter(&t, root, "o", 700 + i, S_IFREG);
		open_node(&t, n[i], +1);
		give_fd(&t, n[i]);
		put(&t, n[i]);
	}
	CHECK(t.nfds == N + 1 && lru_check(&t) == 0);
	for (i = 0; i < N; i++) {
		open_node(&t, n[i], -1);
		/* Over budget only while nothing idle is left to evict. */
		CHECK(t.nfds <= t.fd_max || t.lru_head == NULL);
		CHECK(lru_check(&t) >= 0);
	}
	for (i = 0; i < N; i++)
		evicted += n[i]->fd == -1;
	CHECK(evicted == N - 3);
	/* The most recently closed stay. */
	CHECK(n[N - 1]->fd >= 0 && n[N - 3]->fd >= 0 && n[0]->fd == -1);
	CHECK(root->fd >= 0);
	CHECK(vn_table_destroy(&t) == N + 1);
}

/* The root's fd is pinned: even a zero budget never evicts it. */
static void test_fd_pinned(void)
{
	struct vn_node *root, *x;
	struct vn_table t;
	int rootfd, i, fd;

	root = setup(&t, 0);
	rootfd = root->fd;
	CHECK(t.nfds == 1);
	for (i = 0; i < 5; i++) {
		x = enter(&t, root, "x", 800 + i, S_IFREG);
		fd = give_fd(&t, x);
		CHECK(x->fd == fd); /* in use: kept */
		put(&t, x);
		CHECK(alive(&t, 1) && lru_check(&t) >= 0);
	}
	CHECK(root->fd == rootfd && fd_is_open(rootfd));
	CHECK(t.lru_head != root && t.lru_tail != root);
	CHECK(vn_table_destroy(&t) == 6);
	CHECK(!fd_is_open(rootfd));
}

/* Two threads reopened the same node: the second fd is garbage. */
static void test_set_fd_race(void)
{
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *root, *n;
	struct vn_table t;
	int f1, f2, f3;

	root = setup(&t, 8);
	n = enter(&t, root, "r", 900, S_IFREG);
	CHECK(vn_table_fd(&t, n) == -1);
	f1 = give_fd(&t, n);
	f2 = new_fd();
	CHECK(vn_table_set_fd(&t, n, f2, &g) == f1);
	CHECK(g.nfds == 1 && g.fds[0] == f2 && g.dead == NULL);
	CHECK(n->fd == f1 && t.nfds == 2);
	release(&g);
	CHECK(!fd_is_open(f2) && fd_is_open(f1));
	CHECK(vn_table_fd(&t, n) == f1);
	/* The same for the root. */
	f3 = new_fd();
	CHECK(vn_table_set_fd(&t, root, f3, &g) == root->fd);
	CHECK(g.nfds == 1 && g.fds[0] == f3 && t.nfds == 2);
	release(&g);
	put(&t, n);
	CHECK(vn_table_forget(&t, n->nodeid, 1, &g) == 0);
	CHECK(g.nfds == 1 && g.fds[0] == f1 && release(&g) == 1);
	CHECK(!fd_is_open(f1) && t.nfds == 1);
	CHECK(vn_table_destroy(&t) == 1);
}

/* One eviction pass stops when the garbage list is full. */
static void test_fd_garbage_full(void)
{
	enum { N = 40 };
	struct vn_garbage g = { .nfds = 0 };
	struct vn_node *root, *n;
	struct vn_table t;
	int i, cap = (int)(sizeof(g.fds) / sizeof(g.fds[0]));

	root = setup(&t, 64);
	for (i = 0; i < N; i++) {
		n = enter(&t, root, "g", 1000 + i, S_IFREG);
		give_fd(&t, n);
		put(&t, n);
	}
	CHECK(t.nfds == N + 1 && lru_check(&t) == N);
	t.fd_max = 4; /* a budget cut, to make many fds evictable at once */
	n = enter(&t, root, "g", 1000 + N, S_IFREG);
	CHECK(vn_table_set_fd(&t, n, new_fd(), &g) >= 0);
	CHECK(g.nfds == cap);
	CHECK(t.nfds == N + 2 - (size_t)cap);
	CHECK(lru_check(&t) == (int)t.nfds - 2);
	release(&g);
	put(&t, n);
	CHECK(lru_check(&t) == (int)t.nfds - 1);
	CHECK(vn_table_destroy(&t) == N + 2);
}

static void test_move(void)
{
	char buf[NAME_MAX + 1], small[4], longname[NAME_MAX + 1];
	struct vn_node *root, *d1, *d2, *f, *p;
	struct vn_table t;
	size_t count;

	root = setup(&t, 16);
	d1 = peek(&t, lookup(&t, root, "d1", 20, S_IFDIR));
	d2 = peek(&t, lookup(&t, root, "d2", 21, S_IFDIR));
	f = enter(&t, d1, "f", 22, S_IFREG);
	p = vn_table_get_parent(&t, f, buf, sizeof(buf));
	CHECK(p == d1 && strcmp(buf, "f") == 0 && d1->nuse == 1);
	put(&t, p);

	CHECK(vn_table_moved(&t, f->dev, f->ino, d2, "g") == 0);
	p = vn_table_get_parent(&t, f, buf, sizeof(buf));
	CHECK(p == d2 && strcmp(buf, "g") == 0);
	put(&t, p);
	CHECK(d1->nchild == 0 && d2->nchild == 1);
	CHECK(vn_table_moved(&t, f->dev, f->ino, d2, "h") == 0);
	CHECK(f->parent == d2 && strcmp(f->name, "h") == 0 && d2->nchild == 1);

	/* A rename seen by (dev, ino). */
	vn_table_moved(&t, DEV, 22, root, "top");
	p = vn_table_get_parent(&t, f, buf, sizeof(buf));
	CHECK(p == root && strcmp(buf, "top") == 0);
	put(&t, p);
	CHECK(d2->nchild == 0 && root->nchild == 3);
	count = vn_table_count(&t);
	vn_table_moved(&t, DEV, 9999, d1, "unknown");
	CHECK(vn_table_count(&t) == count && d1->nchild == 0);
	CHECK(vn_table_moved(&t, d1->dev, d1->ino, d1, "self") == 0);
	CHECK(d1->parent == root && strcmp(d1->name, "d1") == 0);

	/* The name is copied into the caller's buffer, truncated to fit. */
	CHECK(vn_table_moved(&t, f->dev, f->ino, root, "longer") == 0);
	p = vn_table_get_parent(&t, f, small, sizeof(small));
	CHECK(p == root && strcmp(small, "lon") == 0);
	put(&t, p);
	memset(longname, 'n', NAME_MAX);
	longname[NAME_MAX] = '\0';
	CHECK(vn_table_moved(&t, f->dev, f->ino, d1, longname) == 0);
	p = vn_table_get_parent(&t, f, buf, sizeof(buf));
	CHECK(p == d1 && strcmp(buf, longname) == 0);
	put(&t, p);

	put(&t, f);
	CHECK(forget(&t, f->nodeid, 1) == 1);
	CHECK(forget(&t, d1->nodeid, 1) == 1);
	CHECK(forget(&t, d2->nodeid, 1) == 1);
	CHECK(vn_table_count(&t) == 1 && root->nchild == 0);
	CHECK(vn_table_destroy(&t) == 1);
}

/* A directory the kernel forgot is kept only by its child; when the child
 * is seen elsewhere the directory must go. */
static void test_move_frees_old_parent(void)
{
	struct vn_node *root, *f;
	struct vn_table t;
	uint64_t d, fid;

	root = setup(&t, 16);
	/* vn_table_move */
	d = lookup(&t, root, "d", 40, S_IFDIR);
	fid = lookup(&t, peek(&t, d), "f", 41, S_IFREG);
	CHECK(forget(&t, d, 1) == 0 && alive(&t, d));
	f = vn_table_get(&t, fid);
	CHECK(vn_table_moved(&t, f->dev, f->ino, root, "f") == 0);
	put(&t, f);
	CHECK(!alive(&t, d) && vn_table_count(&t) == 2);

	/* vn_table_moved */
	d = lookup(&t, root, "d2", 42, S_IFDIR);
	lookup(&t, peek(&t, d), "f", 43, S_IFREG);
	CHECK(forget(&t, d, 1) == 0 && alive(&t, d));
	vn_table_moved(&t, DEV, 43, root, "f2");
	CHECK(!alive(&t, d) && vn_table_count(&t) == 3);

	/* vn_table_enter: a hard link looked up elsewhere */
	d = lookup(&t, root, "d3", 44, S_IFDIR);
	lookup(&t, peek(&t, d), "f", 45, S_IFREG);
	CHECK(forget(&t, d, 1) == 0 && alive(&t, d));
	lookup(&t, root, "link", 45, S_IFREG);
	CHECK(!alive(&t, d) && vn_table_count(&t) == 4);
	CHECK(root->nchild == 3);
	CHECK(vn_table_destroy(&t) == 4);
}

/* LOOKUP of ".." (NFS export) must not make a directory its child's
 * child: that loop would keep both forever. */
static void test_dotdot(void)
{
	struct vn_node *root, *d, *e, *n;
	struct vn_table t;

	root = setup(&t, 16);
	d = peek(&t, lookup(&t, root, "d", 50, S_IFDIR));
	e = peek(&t, lookup(&t, d, "e", 51, S_IFDIR));
	n = enter(&t, e, "..", 50, S_IFDIR);
	CHECK(n == d && d->nlookup == 2);
	CHECK(d->parent == root && strcmp(d->name, "d") == 0);
	CHECK(e->parent == d && d->nchild == 1 && e->nchild == 0);
	put(&t, n);
	/* Nor may a move put a directory below itself. */
	CHECK(vn_table_moved(&t, d->dev, d->ino, e, "loop") == -ELOOP);
	CHECK(d->parent == root && strcmp(d->name, "d") == 0);
	n = enter(&t, e, ".", 51, S_IFDIR);
	CHECK(n == e && e->parent == d && strcmp(e->name, "e") == 0);
	put(&t, n);
	CHECK(forget(&t, d->nodeid, 2) == 0);
	CHECK(forget(&t, e->nodeid, 2) == 2);
	CHECK(vn_table_count(&t) == 1 && root->nchild == 0);
	CHECK(vn_table_destroy(&t) == 1);
}

/* vn_table_shed: out of fds, every idle cached fd may go (up to what one
 * garbage list holds), budget or not; fds in use, open or pinned stay. */
static void test_fd_shed(void)
{
	struct vn_garbage g = { .nfds = 0 };
	struct vn_table t;
	struct vn_node *root = setup(&t, 1000), *busy, *opened, *n;
	int i, busy_fd, open_fd;

	for (i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		n = enter(&t, root, name, 600 + i, S_IFREG);
		give_fd(&t, n);
		put(&t, n);
	}
	busy = enter(&t, root, "busy", 700, S_IFREG);
	busy_fd = give_fd(&t, busy);
	opened = enter(&t, root, "open", 701, S_IFREG);
	open_fd = give_fd(&t, opened);
	open_node(&t, opened, +1);
	put(&t, opened);
	CHECK(t.nfds == 23 && lru_check(&t) == 20);
	/* One call sheds what one garbage list holds. */
	CHECK(vn_table_shed(&t, &g) == 16);
	CHECK(release(&g) == 0 && t.nfds == 7 && lru_check(&t) == 4);
	CHECK(vn_table_shed(&t, &g) == 4);
	CHECK(release(&g) == 0 && t.nfds == 3 && lru_check(&t) == 0);
	CHECK(vn_table_shed(&t, &g) == 0);
	CHECK(busy->fd == busy_fd && opened->fd == open_fd && root->fd >= 0);
	CHECK(t.fd_max == 1000); /* the budget is unchanged */
	open_node(&t, opened, -1);
	put(&t, busy);
	CHECK(vn_table_destroy(&t) == 23);
}

/* Without handles, a known birth time tells a reused inode number apart. */
static void test_birth(void)
{
	struct vn_table t;
	struct vn_node *root = setup(&t, 16), *a, *b;
	struct vn_entry_key key = {
		.dev = DEV, .ino = 900, .type = S_IFREG, .mount_id = -1,
		.birth = 1000,
	};
	uint64_t aid;

	a = vn_table_enter(&t, root, "a", &key);
	aid = a->nodeid;
	put(&t, a);
	/* Same birth: the same object, under another name. */
	b = vn_table_enter(&t, root, "a2", &key);
	CHECK(b == a && b->nlookup == 2);
	put(&t, b);
	/* Unknown birth on either side: trust (dev, ino, type). */
	key.birth = 0;
	b = vn_table_enter(&t, root, "a3", &key);
	CHECK(b == a);
	put(&t, b);
	/* Another birth: a new object reusing the number. */
	key.birth = 2000;
	b = vn_table_enter(&t, root, "new", &key);
	CHECK(b && b != a && b->nodeid != aid && b->hashed && !a->hashed);
	CHECK(alive(&t, aid) && b->birth == 2000);
	put(&t, b);
	CHECK(forget(&t, aid, 3) == 1 && forget(&t, b->nodeid, 1) == 1);
	CHECK(vn_table_count(&t) == 1);
	CHECK(vn_table_destroy(&t) == 1);
}

/* vn_table_gone: a hashed node is unhashed by key, so the next object with
 * that inode number gets a node of its own; unknown keys are ignored. */
static void test_gone(void)
{
	struct vn_table t;
	struct vn_node *root = setup(&t, 16);
	uint64_t oid, nid;

	oid = lookup(&t, root, "g", 800, S_IFREG);
	vn_table_gone(&t, DEV, 800);
	CHECK(!peek(&t, oid)->hashed && alive(&t, oid));
	nid = lookup(&t, root, "g2", 800, S_IFREG);
	CHECK(nid && nid != oid && peek(&t, nid)->hashed);
	vn_table_gone(&t, DEV, 9999);
	vn_table_gone(&t, DEV + 1, 800);
	CHECK(peek(&t, nid)->hashed && vn_table_count(&t) == 3);
	CHECK(forget(&t, oid, 1) == 1 && forget(&t, nid, 1) == 1);
	CHECK(vn_table_count(&t) == 1);
	CHECK(vn_table_destroy(&t) == 1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t longest_chain(struct vn_table *t)
{
	size_t i, len, max = 0;
	struct vn_node *n;

	for (i = 0; i < t->nbuckets; i++) {
		len = 0;
		for (n = t->buckets[i]; n; n = n->hnext)
			len++;
		if (len > max)
			max = len;
	}
	return max;
}

/* With --time (the benchmark runs it so), how long the 100000 nodes took
 * is printed; make check asserts no time. */
static int print_time;

static void test_scale(void)
{
	enum { N = 100000 };
	uint64_t *ids = malloc(N * sizeof(*ids));
	struct vn_node *root, *n;
	struct vn_table t;
	int i, bad = 0;
	double start = now(), secs;

	if (!ids)
		exit(99);
	root = setup(&t, 1024);
	for (i = 0; i < N; i++)
		bad += (ids[i] = lookup(&t, root, "n", 10000 + i, S_IFREG)) < 2;
	CHECK(bad == 0);
	CHECK(vn_table_count(&t) == N + 1 && t.nhashed == N + 1);
	CHECK(t.nbuckets >= N && root->nchild == N);
	CHECK(longest_chain(&t) <= 16);
	for (i = 0; i < N; i++) {
		n = vn_table_get(&t, ids[i]);
		bad += !n || n->ino != (ino_t)(10000 + i);
		put(&t, n);
	}
	CHECK(bad == 0);
	for (i = 0; i < N; i++)
		bad += lookup(&t, root, "n", 10000 + i, S_IFREG) != ids[i];
	CHECK(bad == 0 && vn_table_count(&t) == N + 1);
	/* Forget in a scattered order (7919 is prime to N). */
	for (i = 0; i < N; i++)
		bad += forget(&t, ids[(size_t)i * 7919 % N], 2) != 1;
	CHECK(bad == 0);
	CHECK(vn_table_count(&t) == 1 && t.nhashed == 1 && root->nchild == 0);
	CHECK(t.nfree == t.nslots - 2);
	secs = now() - start;
	if (print_time)
		printf("node table: 100000 nodes entered, found, looked up "
		       "again and forgotten in %.3f s\n", secs);
	CHECK(vn_table_destroy(&t) == 1);
	free(ids);
}

/* vn_table_destroy() frees whatever is left, fds and handles included. */
static void test_destroy(void)
{
	struct vn_node *root, *a, *d, *e;
	struct vn_table t;
	int rootfd, afd;

	root = setup(&t, 8);
	rootfd = root->fd;
	a = enter_handle(&t, root, "a", 60, new_handle(1, "handle"));
	afd = give_fd(&t, a);
	put(&t, a);
	d = enter(&t, root, "d", 61, S_IFDIR);
	open_node(&t, d, +1);
	e = enter(&t, d, "e", 62, S_IFREG); /* still in use */
	put(&t, d);
	CHECK(forget(&t, d->nodeid, 1) == 0);
	CHECK(vn_table_count(&t) == 4 && e->nuse == 1);
	CHECK(vn_table_destroy(&t) == 4);
	CHECK(!fd_is_open(rootfd) && !fd_is_open(afd));
	CHECK(t.slots == NULL && t.buckets == NULL);
}

int main(int argc, char **argv)
{
	int fds = count_open_fds();

	print_time = argc > 1 && strcmp(argv[1], "--time") == 0;
	test_init();
	test_root();
	test_enter();
	test_generation();
	test_unknown_ids();
	test_counts();
	test_open();
	test_parent_cascade();
	test_inode_reuse();
	test_handles();
	test_fd_lru();
	test_fd_busy();
	test_fd_many_open();
	test_fd_pinned();
	test_set_fd_race();
	test_fd_garbage_full();
	test_fd_shed();
	test_gone();
	test_birth();
	test_move();
	test_move_frees_old_parent();
	test_dotdot();
	test_scale();
	test_destroy();
	CHECK(unreleased == 0);
	CHECK(count_open_fds() == fds); /* every fd handed over was closed */
	return check_done("test_node_table");
}
