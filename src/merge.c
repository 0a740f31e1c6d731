/* Merged directory listings for overlay mode: the entries of every layer
 * of a directory, top first, each name once, whiteouts and the names they
 * hide left out. READDIR serves a snapshot of such a list; RMDIR and
 * RENAME use one to decide whether a directory is empty. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "veneer.h"
#include "whiteout.h"

/* A set of names: open addressing, grown at half load. */
struct name_set {
	char **slots;
	size_t cap;
	size_t count;
};

static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;
	return h;
}

static char **set_slot(struct name_set *set, const char *name)
{
	size_t i = name_hash(name) & (set->cap - 1);

	while (set->slots[i] && strcmp(set->slots[i], name) != 0)
		i = (i + 1) & (set->cap - 1);
	return &set->slots[i];
}

static bool set_has(struct name_set *set, const char *name)
{
	return set->cap && *set_slot(set, name);
}

/* Add name (borrowed: it must outlive the set). Returns 0 or -ENOMEM. */
static int set_add(struct name_set *set, char *name)
{
	if ((set->count + 1) * 2 > set->cap) {
		struct name_set big = { .cap = set->cap ? set->cap * 2 : 64 };
		size_t i;

		big.slots = calloc(big.cap, sizeof(*big.slots));
		if (!big.slots)
			return -ENOMEM;
		for (i = 0; i < set->cap; i++)
			if (set->slots[i])
				*set_slot(&big, set->slots[i]) = set->slots[i];
		big.count = set->count;
		free(set->slots);
		*set = big;
	}
	if (!*set_slot(set, name)) {
		*set_slot(set, name) = name;
		set->count++;
	}
	return 0;
}

static int list_add(struct vn_list *l, const char *name, uint64_t ino,
		    unsigned char type)
{
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct vn_list_entry *e = realloc(l->e, cap * sizeof(*e));

		if (!e)
			return -ENOMEM;
		l->e = e;
		l->cap = cap;
	}
	l->e[l->count].name = strdup(name);
	if (!l->e[l->count].name)
		return -ENOMEM;
	l->e[l->count].ino = ino;
	l->e[l->count].type = type;
	l->count++;
	return 0;
}

void vn_list_free(struct vn_list *l)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		free(l->e[i].name);
	free(l->e);
	memset(l, 0, sizeof(*l));
}

/* The inode number an entry of layer shows: a copied-up object's recorded
 * one, else its own in the layer's range. */
static uint64_t entry_ino(struct vn_fs *fs, int layer, int dfd,
			  const struct dirent *de)
{
	uint64_t ino;

	if (fs->overlay && vn_layer_is_upper(fs, layer) &&
	    vn_origin_at(fs, dfd, de->d_name, &ino) == 0)
		return ino;
	return vn_layer_ino(fs, layer, de->d_ino);
}

/* Is the entry a whiteout device? */
static bool entry_is_wh(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_CHR && de->d_type != DT_UNKNOWN)
		return false;
	return fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       vn_wh_is_dev(&st);
}

/* Whiteouts of one layer hide names of the layers below it only. */
struct pending {
	char **names;
	size_t count;
	size_t cap;
};

static int pending_add(struct pending *p, const char *name)
{
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		char **n = realloc(p->names, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->names = n;
		p->cap = cap;
	}
	p->names[p->count] = strdup(name);
	return p->names[p->count++] ? 0 : -ENOMEM;
}

static int list_layer(struct vn_fs *fs, int layer, int pfd,
		      struct vn_list *l, struct name_set *seen,
		      struct pending *hidden)
{
	int dfd = vn_reopen_data(fs, pfd, O_RDONLY | O_DIRECTORY), err = 0;
	size_t first = hidden->count;
	struct dirent *de;
	DIR *d;

	if (dfd < 0)
		return dfd;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -ENOMEM;
	}
	while (!err && (errno = 0, de = readdir(d))) {
		const char *name = de->d_name, *h;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (fs->overlay && vn_wh_reserved(name)) {
			h = vn_wh_hidden(name);
			if (h)
				err = pending_add(hidden, h);
			continue;
		}
		if (fs->overlay && entry_is_wh(dfd, de)) {
			err = pending_add(hidden, name);
			continue;
		}
		if (set_has(seen, name))
			continue;
		err = list_add(l, name, entry_ino(fs, layer, dfd, de),
			       de->d_type);
		if (!err)
			err = set_add(seen, l->e[l->count - 1].name);
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	while (!err && first < hidden->count)
		err = set_add(seen, hidden->names[first++]);
	return err;
}

int vn_list_build(struct vn_fs *fs, struct vn_node *n, struct vn_list *l)
{
	struct name_set seen = { .cap = 0 };
	struct pending hidden = { .count = 0 };
	int *layers, nl, i, err = 0;
	size_t j;

	memset(l, 0, sizeof(*l));
	layers = malloc((size_t)fs->nlayers * sizeof(*layers));
	if (!layers)
		return -ENOMEM;
	nl = vn_table_layers(&fs->table, n, layers, fs->nlayers);
	for (i = 0; i < nl && !err; i++) {
		bool owned;
		int pfd = vn_node_layer_fd(fs, n, layers[i], &owned);

		if (pfd < 0) {
			err = pfd;
			break;
		}
		err = list_layer(fs, layers[i], pfd, l, &seen, &hidden);
		if (owned)
			close(pfd);
	}
	free(layers);
	free(seen.slots);
	for (j = 0; j < hidden.count; j++)
		free(hidden.names[j]);
	free(hidden.names);
	if (err)
		vn_list_free(l);
	return err;
}
