/* The passthrough hard-link guard: see the comment on struct vn_guard in
 * veneer.h. */
#include "config.h"

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include "veneer.h"

/* Only a passthrough mount without file handles needs the guard. */
bool vn_guard_links(struct vn_fs *fs)
{
	return !fs->use_handles && !fs->overlay;
}

pthread_mutex_t *vn_link_lock(struct vn_fs *fs, ino_t ino)
{
	return &fs->link_locks[ino % VN_LINK_LOCKS];
}

static void guard_stat(int dirfd, const char *name, struct stat *st,
		       bool *found)
{
	*found = name && fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0;
}

static void guard_lock(struct vn_fs *fs, struct vn_guard *g)
{
	pthread_mutex_t *a, *b;

	a = g->found[0] ? vn_link_lock(fs, g->st[0].st_ino) : NULL;
	b = g->found[1] ? vn_link_lock(fs, g->st[1].st_ino) : NULL;
	if (a == b)
		b = NULL;
	if (a && b && b < a) {
		pthread_mutex_t *t = a;

		a = b;
		b = t;
	}
	g->locks[0] = a;
	g->locks[1] = b;
	if (a)
		pthread_mutex_lock(a);
	if (b)
		pthread_mutex_lock(b);
}

static void guard_unlock(struct vn_guard *g)
{
	if (g->locks[1])
		pthread_mutex_unlock(g->locks[1]);
	if (g->locks[0])
		pthread_mutex_unlock(g->locks[0]);
	g->locks[0] = g->locks[1] = NULL;
}

/* Lock the inodes that name (may be NULL) in dirfd and newname in newdirfd
 * hold; replaced says whether the change removes newname's link. */
void vn_guard_begin(struct vn_fs *fs, int dirfd, const char *name,
		    int newdirfd, const char *newname, bool replaced,
		    struct vn_guard *g)
{
	struct stat again[2];
	bool found[2];
	int tries, i;

	memset(g, 0, sizeof(*g));
	if (!vn_guard_links(fs))
		return;
	guard_stat(dirfd, name, &g->st[0], &g->found[0]);
	guard_stat(newdirfd, newname, &g->st[1], &g->found[1]);
	for (tries = 0; tries < 16; tries++) {
		guard_lock(fs, g);
		guard_stat(dirfd, name, &again[0], &found[0]);
		guard_stat(newdirfd, newname, &again[1], &found[1]);
		for (i = 0; i < 2; i++)
			if (found[i] != g->found[i] ||
			    (found[i] && again[i].st_ino != g->st[i].st_ino))
				break;
		if (i == 2) {
			/* Nothing else changes these inodes now. Two hard
			 * links of one inode: rename(2) does nothing. */
			g->last = replaced && found[1] &&
				  !(found[0] &&
				    again[0].st_ino == again[1].st_ino) &&
				  (S_ISDIR(again[1].st_mode) ||
				   again[1].st_nlink == 1);
			g->st[1] = again[1];
			return;
		}
		guard_unlock(g);
		for (i = 0; i < 2; i++) {
			g->st[i] = again[i];
			g->found[i] = found[i];
		}
	}
}

void vn_guard_end(struct vn_fs *fs, struct vn_guard *g, int err)
{
	if (!err && g->last)
		vn_table_gone(&fs->table, g->st[1].st_dev, g->st[1].st_ino);
	guard_unlock(g);
}

