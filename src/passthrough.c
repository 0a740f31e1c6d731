/* Kernel passthrough: which opens the kernel serves from the real file
 * itself, so that no READ or WRITE of them reaches the daemon.
 *
 * The kernel's rules (fs/fuse/backing.c, iomode.c): one backing file per
 * inode while any passthrough open of it exists, and an inode's opens are
 * all passthrough or all not (a mix fails the open). So a node holds one
 * backing id, made at its first passthrough open and released at its last
 * RELEASE, and counts its opens of either kind; a new open follows the
 * kind the node's open ones have. The kernel reaches the backing file with
 * the daemon's credentials, so the caller's own open (its permissions)
 * still comes first, and its access mode is what the kernel enforces on
 * the mount's file.
 *
 * Overlay: a lower file is read through passthrough too. The kernel cannot
 * change an inode's backing file while it has passthrough opens, so an
 * open of such a node once its object is copied up retires it: the node
 * is unhashed, keeping the opens it has on the lower file (readers that
 * opened before the copy-up go on reading it), and the open gets ESTALE,
 * after which the kernel looks the name up again, which makes a new node
 * of the upper copy, and opens that. The same happens in passthrough mode
 * to a writer meeting a backing file open for reading only. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "log.h"
#include "veneer.h"

static pthread_mutex_t *open_lock(struct vn_fs *fs, struct vn_node *n)
{
	return &fs->open_locks[n->nodeid % VN_OPEN_LOCKS];
}

bool vn_pt_active(struct vn_fs *fs)
{
	return __atomic_load_n(&fs->passthrough, __ATOMIC_RELAXED) ==
	       VN_PT_ON;
}

/* The kernel refuses backing files to this daemon (no CAP_SYS_ADMIN in
 * the initial user namespace): data goes through the daemon from now on,
 * as without passthrough. */
static void refused(struct vn_fs *fs, int err)
{
	int on = VN_PT_ON;

	if (__atomic_compare_exchange_n(&fs->passthrough, &on, VN_PT_REFUSED,
					false, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED))
		vn_warn("passthrough: the kernel refuses backing files (%s): "
			"file data goes through the daemon", strerror(-err));
}

/* Is fd on a stacking filesystem, overlayfs or FUSE? A backing file there
 * is refused at the stack depth chosen (ELOOP, transport.c), and opening
 * one for writing would be more than an open: overlayfs copies the file
 * up. */
static bool stacked(int fd)
{
	struct statfs sfs;

	return fstatfs(fd, &sfs) == 0 &&
	       ((unsigned long)sfs.f_type == 0x794c7630 || /* overlayfs */
		(unsigned long)sfs.f_type == 0x65735546 || /* FUSE */
		(unsigned long)sfs.f_type == 0xf15f);	    /* ecryptfs */
}

/* Make the backing file of n, whose object is open as fd (O_PATH), for an
 * open with flags, as the daemon. The opens that share it later may
 * write, so it is open for reading and writing where n may be written,
 * but for reading only for execve(2)'s open, which the kernel keeps from
 * sharing the file with writers anyway (ETXTBSY), so that the real file
 * is not held open for writing while it runs. Returns the backing id
 * (> 0) or -errno. */
static int make_backing(struct vn_fs *fs, struct vn_node *n, int fd,
			int flags)
{
	bool upper = !fs->overlay || vn_node_is_upper(fs, n);
	bool reader = (flags & O_ACCMODE) == O_RDONLY && !(flags & O_TRUNC);
	int bfd = -EROFS, id;

	if (stacked(fd))
		return -ELOOP;

	if (upper && !(reader && (flags & VN_FMODE_EXEC)))
		bfd = vn_reopen_data(fs, fd, O_RDWR);
	if (bfd < 0 && !reader)
		return bfd;
	n->backing_ro = bfd < 0;
	if (bfd < 0)
		bfd = vn_reopen_data(fs, fd, O_RDONLY);
	if (bfd < 0)
		return bfd;
	id = vn_backing_open(fs, bfd);
	close(bfd);
	if (id == -EPERM)
		refused(fs, id);
	else if (id < 0)
		/* ELOOP: a real file on overlayfs or FUSE, which the stack
		 * depth chosen does not allow. */
		vn_debug("passthrough: no backing file for nodeid %llu: %s",
			 (unsigned long long)n->nodeid, strerror(-id));
	if (id > 0) {
		n->backing_id = id;
		n->backing_upper = upper;
	}
	return id;
}

/* Can the node's backing file serve this open? Not once the node was
 * copied up (the backing is the lower file), nor a writer where the
 * backing is open for reading only. */
static bool backing_serves(struct vn_fs *fs, struct vn_node *n, int flags)
{
	bool upper = !fs->overlay || vn_node_is_upper(fs, n);

	if (n->backing_upper != upper)
		return false;
	return !n->backing_ro || (flags & O_ACCMODE) == O_RDONLY;
}

/* Read-only opens of files up to this size are served by the daemon: the
 * kernel then keeps their pages from one open to the next, and a warm
 * read costs OPEN and RELEASE, where a passthrough open costs the backing
 * file's open and two ioctls each time. Measured here (cat of 2000 files,
 * warm; cold): 1 KiB 0.16 s cached, 0.21 s passthrough; equal cold. 64
 * KiB warm 0.26 / 0.31 s, cold 0.72 / 0.61 s. 128 KiB even both ways.
 * 256 KiB cold 1.8-2.5 s cached, 1.1 s passthrough. Above the size, the
 * kernel's cache would also hold the file twice (its pages and SOURCE's). */
#define VN_PT_SMALL (64 << 10)

/* Should the open (flags) of the file open as fd get a backing file? Not
 * small files opened for reading (above). */
static bool wants_backing(int fd, int flags)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ||
	       st.st_size > VN_PT_SMALL;
}

int vn_pt_open(struct vn_fs *fs, struct vn_node *n, int fd, int flags,
	       int *backing_id)
{
	pthread_mutex_t *lock = open_lock(fs, n);
	int ret = VN_OPEN_CACHED, id;

	pthread_mutex_lock(lock);
	if (n->npassthrough) {
		if (backing_serves(fs, n, flags)) {
			n->npassthrough++;
			*backing_id = n->backing_id;
			ret = VN_OPEN_PASSTHROUGH;
		} else {
			/* Retired: a new lookup makes a new node, while this
			 * one serves the opens it has (and, once they are
			 * closed, any open the kernel still sends it). */
			vn_table_unhash(&fs->table, n);
			ret = -ESTALE;
		}
	} else if (n->ncached || !vn_pt_active(fs) ||
		   !wants_backing(fd, flags) ||
		   (id = make_backing(fs, n, fd, flags)) <= 0) {
		n->ncached++;
	} else {
		n->npassthrough = 1;
		*backing_id = id;
		ret = VN_OPEN_PASSTHROUGH;
	}
	pthread_mutex_unlock(lock);
	if (ret >= 0)
		__atomic_add_fetch(&fs->counts.open_now, 1, __ATOMIC_RELAXED);
	if (ret == VN_OPEN_PASSTHROUGH)
		__atomic_add_fetch(&fs->counts.open_passthrough, 1,
				   __ATOMIC_RELAXED);
	else if (ret == VN_OPEN_CACHED)
		__atomic_add_fetch(&fs->counts.open_cached, 1,
				   __ATOMIC_RELAXED);
	return ret;
}

void vn_pt_release(struct vn_fs *fs, struct vn_node *n, bool passthrough)
{
	pthread_mutex_t *lock = open_lock(fs, n);

	pthread_mutex_lock(lock);
	if (!passthrough) {
		if (n->ncached)
			n->ncached--;
	} else if (n->npassthrough && --n->npassthrough == 0) {
		/* The kernel has let go of the file: its last RELEASE is
		 * sent once the file is closed. */
		vn_backing_close(fs, n->backing_id);
		n->backing_id = 0;
	}
	pthread_mutex_unlock(lock);
	__atomic_sub_fetch(&fs->counts.open_now, 1, __ATOMIC_RELAXED);
}
