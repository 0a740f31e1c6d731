/* The node table: nodeid <-> node, and (st_dev, st_ino) -> node.
 *
 * Pure bookkeeping with no libfuse and no syscalls other than close(2) of
 * descriptors handed back through struct vn_garbage, so tests/unit links it
 * directly.
 *
 * Locking: every function takes the table lock itself and never holds it
 * across a syscall. Fields of struct vn_node marked "table" are protected by
 * it; the others are immutable after the node is created.
 */
#ifndef VN_NODE_TABLE_H
#define VN_NODE_TABLE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

struct file_handle;

/* A real object beneath a node, on one layer (overlay mode). */
struct vn_real {
	int layer;		     /* index into the mount's layers */
	dev_t dev;
	ino_t ino;
	struct file_handle *handle;  /* owned by the node; may be NULL */
	int mount_id;		     /* with handle */
};

struct vn_node {
	uint64_t nodeid;	     /* immutable: slot index | generation << 32 */
	mode_t type;		     /* immutable: S_IFMT bits */
	uint64_t rino;		     /* the st_ino presented: set at creation,
				      * changed only by vn_table_copied_up()
				      * (atomic) */
	/* The real object, on the topmost layer that has it. These change
	 * only when a copy-up moves the node to the upper layer: read them
	 * with vn_table_real() unless the mount has a single layer. */
	dev_t dev;		     /* table: key */
	ino_t ino;		     /* table: key */
	uint64_t alias;		     /* table: key; non-zero to keep names of
				      * one object apart (lower hard links) */
	int layer;		     /* table */
	int mount_id;		     /* table, with handle */
	struct file_handle *handle;  /* table, may be NULL */
	uint64_t birth;		     /* table: birth time in ns, 0 if
				      * unknown; tells a reused inode number
				      * apart where there is no handle */
	/* Directories of an overlay: the real directories merged beneath
	 * the top one, top first. After a copy-up, the old top object. */
	struct vn_real *lower;	     /* table */
	int nlower;		     /* table */

	uint64_t nlookup;	     /* table: kernel's lookup count */
	uint32_t nopen;		     /* table: open file/dir handles */
	uint32_t nuse;		     /* table: requests working on it */
	uint32_t nchild;	     /* table: nodes whose parent is this one */
	int hashed;		     /* table: reachable by (dev, ino) */
	struct vn_node *parent;	     /* table: where it was last seen */
	char *name;		     /* table: its name in parent */

	uint64_t cache_stamp;	     /* atomic: the object's version when
				      * it was last opened (node.c) */
	/* Kernel passthrough (passthrough.c), under the node's open lock
	 * (vn_fs.open_locks): a node's opens are all passthrough or none. */
	int backing_id;		     /* the kernel's backing file, 0: none */
	uint32_t npassthrough;	     /* opens served from backing_id */
	uint32_t ncached;	     /* opens served by the daemon */
	uint8_t backing_upper;	     /* backing_id is of the upper object */
	uint8_t backing_ro;	     /* backing_id is open for reading only */
	int direct_written;	     /* atomic: a direct write was seen, so
				      * pages are never kept across opens
				      * (file.c) */
	int copying;		     /* a copy-up is under way (the fs's
				      * copy lock, copy_up.c) */
	int fd;			     /* table: cached O_PATH fd, or -1 */
	int old_fd;		     /* table: the fd a copy-up replaced, kept
				      * open while the node is in use (other
				      * requests may still be using it) */
	int pinned;		     /* table: fd never evicted (the root) */
	struct vn_node *lru_prev;    /* table: on the LRU while fd is */
	struct vn_node *lru_next;    /*   cached and nuse == nopen == 0 */
	struct vn_node *hnext;	     /* table: hash chain / garbage list */
};

/* Things to release once the table lock is dropped. */
struct vn_garbage {
	int fds[16];
	int nfds;
	struct vn_node *dead;	     /* unlinked from the table */
};

struct vn_table {
	pthread_mutex_t lock;
	struct vn_node **slots;	     /* index -> node; NULL if free */
	uint32_t *gens;		     /* index -> current generation */
	uint32_t nslots;
	uint32_t *free_idx;	     /* stack of free slot indexes */
	uint32_t nfree;
	struct vn_node **buckets;    /* (dev, ino) hash, chained */
	size_t nbuckets;
	size_t nhashed;
	size_t nnodes;		     /* written under lock, read atomically */
	struct vn_node *lru_head;    /* most recently used */
	struct vn_node *lru_tail;
	size_t nfds;		     /* fds cached by nodes, pinned included */
	size_t fd_max;		     /* cache bound */
};

/* Description of a real object found by a lookup; handle may be NULL and
 * is owned by the table once passed to vn_table_enter(). */
struct vn_entry_key {
	dev_t dev;
	ino_t ino;
	mode_t type;
	struct file_handle *handle;
	int mount_id;
	uint64_t birth;		/* 0 if unknown */
	int layer;		/* layer of the object */
	uint64_t alias;		/* see vn_node */
	uint64_t rino;		/* st_ino to present for a new node */
	struct vn_real *lower;	/* directories beneath, owned (malloc) */
	int nlower;
};

/* Initialise an empty table whose fd cache holds at most fd_max fds.
 * Returns 0 or -ENOMEM. */
int vn_table_init(struct vn_table *t, size_t fd_max);

/* Release every node and the table itself; fds cached by nodes are closed.
 * Returns how many nodes were still in the table. */
size_t vn_table_destroy(struct vn_table *t);

/* Create the root node (nodeid 1) for key's object, open as fd (its lower
 * directories are consumed; it has no handle).
 * Its fd is pinned and it is never freed before vn_table_destroy().
 * Returns the node or NULL on ENOMEM. */
struct vn_node *vn_table_set_root(struct vn_table *t,
				  struct vn_entry_key *key, int fd);

/* Find the node for a nodeid the kernel sent and take a use reference on it.
 * Returns NULL if the id is unknown or stale. Release with vn_table_put(). */
struct vn_node *vn_table_get(struct vn_table *t, uint64_t nodeid);

/* Drop a use reference taken by vn_table_get(), vn_table_enter() or
 * vn_table_get_parent(); the node may be freed into g. */
void vn_table_put(struct vn_table *t, struct vn_node *n,
		  struct vn_garbage *g);

/* Find or create the node for key, found as name in parent, and add one
 * kernel lookup reference and one use reference. If a node with the same
 * (dev, ino) but a different type or file handle exists (an inode number
 * reused after a delete), or a different known birth time, that old node
 * is unhashed and a new one created.
 * Returns the node or NULL on ENOMEM. key->handle is consumed either way. */
struct vn_node *vn_table_enter(struct vn_table *t, struct vn_node *parent,
			       const char *name, struct vn_entry_key *key);

/* Subtract n from the kernel lookup count of nodeid (FORGET). Unknown ids
 * and counts larger than held are ignored (clamped). Returns 0 or -ESTALE. */
int vn_table_forget(struct vn_table *t, uint64_t nodeid, uint64_t n,
		    struct vn_garbage *g);

/* An open file or directory handle on n starts (+1) or ends (-1). */
void vn_table_open(struct vn_table *t, struct vn_node *n, int delta,
		   struct vn_garbage *g);

/* The node's cached O_PATH fd, or -1. The caller holds a use reference,
 * which keeps the fd from being evicted. */
int vn_table_fd(struct vn_table *t, struct vn_node *n);

/* Install fd as n's cached fd. If another thread installed one first, fd is
 * handed to g for closing and the existing fd returned. May evict idle fds
 * of other nodes into g. Returns the fd to use. */
int vn_table_set_fd(struct vn_table *t, struct vn_node *n, int fd,
		    struct vn_garbage *g);

/* The process ran out of fds: hand up to 16 idle cached fds to g,
 * whatever the budget. Returns how many. */
int vn_table_shed(struct vn_table *t, struct vn_garbage *g);

/* Take a use reference on n's parent (NULL for the root) and copy n's name
 * into buf (size NAME_MAX + 1). */
struct vn_node *vn_table_get_parent(struct vn_table *t, struct vn_node *n,
				    char *buf, size_t size);

/* A rename put the object (dev, ino) at name in parent: if a node for it
 * is cached, record its new place. Returns 0 (also when there is no such
 * node, or it is the root), -ENOMEM, or -ELOOP if parent is that node or
 * below it. */
int vn_table_moved(struct vn_table *t, dev_t dev, ino_t ino,
		   struct vn_node *parent, const char *name);

/* The object (dev, ino) lost its last link: unhash its node, if any, so
 * that a new object reusing the inode number gets a node of its own. */
void vn_table_gone(struct vn_table *t, dev_t dev, ino_t ino);

/* Unhash n itself (not the root): a lookup of its object makes a new node,
 * while n lives on for the kernel's references to it. */
void vn_table_unhash(struct vn_table *t, struct vn_node *n);

/* Copy n's real object on layer (its top one when layer < 0) to *r. The
 * handle pointer stays valid while the caller holds a use reference.
 * Returns 0, or -ENOENT if n has nothing on that layer. */
int vn_table_real(struct vn_table *t, struct vn_node *n, int layer,
		  struct vn_real *r);

/* The layers n spans, top first, up to max; returns how many. */
int vn_table_layers(struct vn_table *t, struct vn_node *n, int *layers,
		    int max);

/* n was copied up: its real object is now key's, open as the O_PATH fd
 * (consumed). The old one is kept beneath it; the nodeid does not change,
 * nor rino unless key->rino is set. Returns 0 or -ENOMEM (fd closed, n unchanged). */
int vn_table_copied_up(struct vn_table *t, struct vn_node *n,
		       struct vn_entry_key *key, int fd,
		       struct vn_garbage *g);

/* Close fds and free nodes collected in g. Call without the table lock. */
void vn_garbage_release(struct vn_garbage *g);

/* How many nodes a request still holds a use reference on, and how many
 * have open handles: both 0 once the kernel is gone and every request is
 * done, or something leaked. */
void vn_table_held(struct vn_table *t, size_t *used, size_t *open);

/* Number of nodes alive (no lock taken: a snapshot). */
size_t vn_table_count(struct vn_table *t);
/* Nodes alive and fds they cache, taken together. */
void vn_table_stats(struct vn_table *t, size_t *nodes, size_t *fds);

#endif
