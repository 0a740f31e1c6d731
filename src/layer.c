/* The layers of a mount: opened once at start, checked, and probed for
 * what their filesystems allow (whiteout devices, trusted xattrs). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "log.h"
#include "veneer.h"
#include "whiteout.h"

/* Where copy-ups and whiteouts are made before being renamed into the
 * upper layer: the same directory the kernel's overlayfs uses. */
#define VN_WORK_NAME "work"

/* Deep enough for anything a crashed copy-up leaves in the work dir. */
#define VN_CLEAN_DEPTH 64

static int open_root(const char *path, const char *what)
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		int err = -errno;

		vn_err("%s '%s': %s", what, path, strerror(errno));
		return err;
	}
	return fd;
}

/* Is path the upperdir= or workdir= (key) of a mounted kernel overlay?
 * Such a directory must not be shared. */
static bool kernel_overlay_uses(const char *key, const char *path)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[PATH_MAX * 4], want[PATH_MAX + 16];
	bool found = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), "%s=%s", key, path);
	while (!found && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - overlay "), *p;
		size_t len = strlen(want);

		if (!sep)
			continue;
		for (p = strstr(sep, want); p && !found; p = strstr(p + 1, want))
			found = (p[-1] == ',' || p[-1] == ' ') &&
				(p[len] == ',' || p[len] == '\n' ||
				 p[len] == ' ' || p[len] == '\0');
	}
	fclose(f);
	return found;
}

/* Hold an exclusive lock on dir for the daemon's life, so that no second
 * mount writes to the same upper or work directory. */
static int lock_dir(struct vn_fs *fs, int slot, const char *path,
		    const char *what, const char *key)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		vn_err("%s '%s': %s", what, path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 || kernel_overlay_uses(key, path)) {
		vn_err("%s '%s' is in use by another mount", what, path);
		close(fd);
		return -EBUSY;
	}
	fs->lock_fds[slot] = fd;
	return 0;
}

/* Remove everything below dirfd (a leftover of an interrupted copy-up). */
static void clean_dir(int dirfd, int depth)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			continue;
		if (errno == EISDIR && depth < VN_CLEAN_DEPTH) {
			int sub = openat(dirfd, de->d_name,
					 O_PATH | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);

			if (sub >= 0) {
				clean_dir(sub, depth + 1);
				close(sub);
			}
			unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		}
	}
	closedir(d);
}

static int open_work(struct vn_fs *fs, const char *workdir)
{
	int wfd = open_root(workdir, "workdir"), fd;
	char path[32];

	if (wfd < 0)
		return wfd;
	if (mkdirat(wfd, VN_WORK_NAME, 0) < 0 && errno != EEXIST) {
		vn_err("workdir '%s': cannot make '%s': %s", workdir,
		       VN_WORK_NAME, strerror(errno));
		close(wfd);
		return -errno;
	}
	fd = openat(wfd, VN_WORK_NAME, O_PATH | O_DIRECTORY | O_NOFOLLOW |
						O_CLOEXEC);
	close(wfd);
	if (fd < 0) {
		vn_err("workdir '%s/%s': %s", workdir, VN_WORK_NAME,
		       strerror(errno));
		return -errno;
	}
	clean_dir(fd, 0);
	/* What is made in work must inherit nothing from it: no setgid bit
	 * (a group), no default ACL. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (chmod(path, 0) < 0)
		vn_warn("workdir '%s': cannot reset the mode of '%s': %s",
			workdir, VN_WORK_NAME, strerror(errno));
	removexattr(path, "system.posix_acl_default");
	removexattr(path, "system.posix_acl_access");
	fs->work_fd = fd;
	return 0;
}

/* Not root of the initial user namespace: trusted.* xattrs are out of
 * reach, overlay's own go to user.overlay.* as the kernel's userxattr. */
static bool in_user_namespace(void)
{
	FILE *f = fopen("/proc/self/uid_map", "r");
	unsigned long a = 0, b = 0, c = 0;
	int n;

	if (!f)
		return geteuid() != 0;
	n = fscanf(f, "%lu %lu %lu", &a, &b, &c);
	fclose(f);
	return geteuid() != 0 || n != 3 || a != 0 || b != 0 ||
	       c != 4294967295UL;
}

/* Can the upper filesystem take whiteout devices and trusted xattrs? */
static void probe_upper(struct vn_fs *fs, const struct vn_opts *o)
{
	char name[32];
	int fd;

	snprintf(name, sizeof(name), "#probe.%d", (int)getpid());
	fs->wh_dev = !o->wh_files &&
		     mknodat(fs->work_fd, name, S_IFCHR, 0) == 0;
	if (fs->wh_dev)
		unlinkat(fs->work_fd, name, 0);
	if (o->userxattr || in_user_namespace()) {
		fs->xprefix = "user.overlay.";
	} else {
		fs->xprefix = "trusted.overlay.";
		fd = openat(fs->work_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && fsetxattr(fd, "trusted.overlay.probe", "y", 1,
					 0) == 0)
			fremovexattr(fd, "trusted.overlay.probe");
		else if (fd >= 0 && (errno == EPERM || errno == ENOTSUP))
			fs->xprefix = "user.overlay.";
		if (fd >= 0)
			close(fd);
	}
	vn_debug("whiteouts as %s, xattrs %s*",
		 fs->wh_dev ? "devices" : ".wh. files", fs->xprefix);
}

/* Inode numbers as the kernel's overlayfs makes them with xino=auto, so
 * that both number a tree alike: tag 0 is the upper layer's filesystem
 * (kept for it even without an upper layer), the lower layers' other
 * filesystems get 1, 2... in order. With N tags in use, the top
 * ilog2(N - 1) + 2 bits of st_ino hold the tag, shifted one bit up: the
 * lowest of those bits marks the numbers the mount hands out to objects
 * whose own number does not fit below the tag (xino_overflow). */
static void assign_fsids(struct vn_fs *fs)
{
	int i, j, n = 1, first = fs->writable ? 1 : 0;
	uint64_t tag;

	fs->xino_bits = 0;
	for (i = 0; i < fs->nlayers; i++) {
		fs->layers[i].fsid_bits = 0;
		if (fs->writable && fs->layers[i].dev == fs->layers[0].dev)
			continue;
		for (j = first; j < i; j++)
			if (fs->layers[j].dev == fs->layers[i].dev)
				break;
		tag = j < i ? fs->layers[j].fsid_bits : (uint64_t)n++;
		fs->layers[i].fsid_bits = tag;
	}
	/* One filesystem (tag 0 unused without an upper layer): the real
	 * numbers are unique already. */
	if (n - (fs->writable ? 0 : 1) <= 1) {
		for (i = 0; i < fs->nlayers; i++)
			fs->layers[i].fsid_bits = 0;
		return;
	}
	for (fs->xino_bits = 2; (1 << (fs->xino_bits - 1)) < n; fs->xino_bits++)
		;
	for (i = 0; i < fs->nlayers; i++)
		fs->layers[i].fsid_bits <<= 64 - fs->xino_bits + 1;
}

/* A number of the mount's own for (dev, ino): the reserved bit set, tag
 * 0, counted from 1; remembered for the mount's life so that the object
 * keeps it. */
struct vn_xino {
	dev_t dev;
	uint64_t ino;
	uint64_t num;		/* 0: a free slot */
};

static int xino_grow(struct vn_fs *fs)
{
	size_t cap = fs->xino_cap ? fs->xino_cap * 2 : 64, i, h;
	struct vn_xino *m = calloc(cap, sizeof(*m));

	if (!m)
		return -ENOMEM;
	for (i = 0; i < fs->xino_cap; i++) {
		struct vn_xino *e = &fs->xino_map[i];

		if (!e->num)
			continue;
		for (h = (e->ino * 0x9e3779b97f4a7c15ULL + e->dev) & (cap - 1);
		     m[h].num; h = (h + 1) & (cap - 1))
			;
		m[h] = *e;
	}
	free(fs->xino_map);
	fs->xino_map = m;
	fs->xino_cap = cap;
	return 0;
}

static uint64_t xino_overflow(struct vn_fs *fs, dev_t dev, uint64_t ino)
{
	static bool warned;
	uint64_t num = 0, mark = 1ULL << (64 - fs->xino_bits);
	size_t h;

	pthread_mutex_lock(&fs->xino_lock);
	if (fs->xino_count * 2 >= fs->xino_cap && xino_grow(fs) < 0)
		goto out; /* no memory: the real number, maybe not unique */
	for (h = (ino * 0x9e3779b97f4a7c15ULL + dev) & (fs->xino_cap - 1);
	     fs->xino_map[h].num; h = (h + 1) & (fs->xino_cap - 1)) {
		if (fs->xino_map[h].dev == dev && fs->xino_map[h].ino == ino) {
			num = fs->xino_map[h].num;
			goto out;
		}
	}
	num = mark | ++fs->xino_next;
	fs->xino_map[h] = (struct vn_xino){ .dev = dev, .ino = ino,
					    .num = num };
	fs->xino_count++;
out:
	pthread_mutex_unlock(&fs->xino_lock);
	if (!__atomic_exchange_n(&warned, true, __ATOMIC_RELAXED))
		vn_warn("inode number %llu (device %u:%u) is too big for %d "
			"tag bits: such objects get numbers of this mount's "
			"own, not kept across mounts",
			(unsigned long long)ino, major(dev), minor(dev),
			fs->xino_bits);
	return num ? num : ino;
}

static int add_layer(struct vn_fs *fs, const char *path, const char *what)
{
	struct vn_layer *l = &fs->layers[fs->nlayers];
	struct stat st;
	int fd = open_root(path, what);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	l->fd = fd;
	l->dev = st.st_dev;
	fs->nlayers++;
	return 0;
}

int vn_layers_open(struct vn_fs *fs, const struct vn_opts *o)
{
	int i, err, max = o->overlay ? o->nlowers + 1 : 1;

	fs->work_fd = -1;
	fs->lock_fds[0] = fs->lock_fds[1] = -1;
	fs->xprefix = "trusted.overlay.";
	fs->layers = calloc((size_t)max, sizeof(*fs->layers));
	if (!fs->layers)
		return -ENOMEM;
	if (!o->overlay) {
		fs->writable = true;
		return add_layer(fs, o->source, "source");
	}
	fs->overlay = true;
	fs->nosync = o->nosync;
	if (o->upperdir) {
		fs->writable = true;
		err = lock_dir(fs, 0, o->upperdir, "upperdir", "upperdir");
		if (!err)
			err = lock_dir(fs, 1, o->workdir, "workdir", "workdir");
		if (!err)
			err = add_layer(fs, o->upperdir, "upperdir");
		if (!err)
			err = open_work(fs, o->workdir);
		if (err)
			return err;
		probe_upper(fs, o);
	} else if (o->userxattr || in_user_namespace()) {
		fs->xprefix = "user.overlay.";
	}
	for (i = 0; i < o->nlowers; i++) {
		err = add_layer(fs, o->lowers[i], "lowerdir");
		if (err)
			return err;
	}
	assign_fsids(fs);
	return 0;
}

void vn_layers_close(struct vn_fs *fs)
{
	int i;

	for (i = 0; i < fs->nlayers; i++)
		close(fs->layers[i].fd);
	free(fs->layers);
	free(fs->xino_map);
	fs->xino_map = NULL;
	fs->xino_cap = fs->xino_count = 0;
	fs->layers = NULL;
	fs->nlayers = 0;
	if (fs->work_fd >= 0)
		close(fs->work_fd);
	for (i = 0; i < 2; i++)
		if (fs->lock_fds[i] >= 0)
			close(fs->lock_fds[i]);
	fs->work_fd = fs->lock_fds[0] = fs->lock_fds[1] = -1;
}

uint64_t vn_layer_ino(struct vn_fs *fs, int layer, ino_t ino)
{
	if (!fs->xino_bits)
		return ino;
	if ((uint64_t)ino >> (64 - fs->xino_bits) == 0)
		return (uint64_t)ino | fs->layers[layer].fsid_bits;
	return xino_overflow(fs, fs->layers[layer].dev, ino);
}

bool vn_layer_is_upper(struct vn_fs *fs, int layer)
{
	return layer == 0 && fs->writable;
}
