/* Thin wrappers around the system calls the handlers share: the
 * /proc/self/fd path of an fd, openat(2) that makes room in the fd cache
 * when the process is out of fds, and reopening an O_PATH fd with real
 * flags (through /proc/self/fd), with O_NOATIME where the mount asks for
 * it. Each returns the fd or -errno. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "veneer.h"

void vn_proc_path(int fd, char *buf, size_t size)
{
	snprintf(buf, size, "/proc/self/fd/%d", fd);
}

int vn_openat(struct vn_fs *fs, int dirfd, const char *name, int flags,
	      mode_t mode)
{
	struct vn_garbage g = { .nfds = 0 };
	int fd = openat(dirfd, name, flags, mode);

	/* Out of fds: idle cached O_PATH fds can make room. */
	if (fd < 0 && (errno == EMFILE || errno == ENFILE) &&
	    vn_table_shed(&fs->table, &g) > 0) {
		vn_garbage_release(&g);
		fd = openat(dirfd, name, flags, mode);
	}
	return fd < 0 ? -errno : fd;
}

int vn_reopen(struct vn_fs *fs, int fd, int flags)
{
	char name[16];

	snprintf(name, sizeof(name), "%d", fd);
	/* The magic link must be followed, and must not create. */
	flags &= ~(O_NOFOLLOW | O_CREAT | O_EXCL);
	return vn_openat(fs, fs->proc_fd, name, flags | O_CLOEXEC, 0);
}

/* Each serving thread has its own open /proc/self/mountinfo: it polls
 * with POLLPRI once the mount table has changed since this open file last
 * looked, so a thread sees every remount made before the request it
 * serves (one shared fd would let another thread take the news first). */
static pthread_key_t mountinfo_key;
static pthread_once_t mountinfo_once = PTHREAD_ONCE_INIT;
static __thread int mountinfo_fd = -1;

static void close_mountinfo(void *arg)
{
	close((int)(intptr_t)arg - 1);
}

static void make_mountinfo_key(void)
{
	pthread_key_create(&mountinfo_key, close_mountinfo);
}

/* The mount's atime flags, current as of this request. */
static int atime_flags(struct vn_fs *fs)
{
	struct pollfd p = { .events = POLLPRI };

	if (mountinfo_fd < 0) {
		pthread_once(&mountinfo_once, make_mountinfo_key);
		mountinfo_fd = open("/proc/self/mountinfo", O_RDONLY |
							     O_CLOEXEC);
		if (mountinfo_fd < 0)
			return 0;
		pthread_setspecific(mountinfo_key,
				    (void *)(intptr_t)(mountinfo_fd + 1));
		/* What changed before this thread looked first. */
		vn_fs_mount_changed(fs);
	}
	p.fd = mountinfo_fd;
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLPRI | POLLERR)))
		vn_fs_mount_changed(fs);
	return __atomic_load_n(&fs->atime_flags, __ATOMIC_RELAXED);
}

int vn_reopen_data(struct vn_fs *fs, int fd, int flags)
{
	int want = (flags & O_DIRECTORY) ? VN_NOATIME | VN_NODIRATIME
					 : VN_NOATIME;
	int nfd;

	if (!(atime_flags(fs) & want))
		return vn_reopen(fs, fd, flags);
	/* Only the owner (or CAP_FOWNER) may: others change the atime as
	 * they would on the real filesystem. */
	nfd = vn_reopen(fs, fd, flags | O_NOATIME);
	if (nfd == -EPERM)
		nfd = vn_reopen(fs, fd, flags);
	return nfd;
}
