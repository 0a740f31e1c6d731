/* A fault injector for the daemon, loaded with LD_PRELOAD by the tests
 * that show a failure deep inside copy-up or a whiteout change leaves the
 * overlay as it was. VN_FAULT lists rules, comma separated:
 *
 *   lgetxattr=NAME:ERRNO   reading xattr NAME fails (libattr's copy)
 *   lsetxattr=NAME:ERRNO   writing xattr NAME fails
 *   llistxattr=grow        the list grows between the size query and the
 *                          read (ERANGE, once per path)
 *   setxattr=SUFFIX:ERRNO  setxattr of a name ending in SUFFIX fails
 *   openat=PREFIX:ERRNO    creating a name that starts with PREFIX fails
 *   copy_file_range=ERRNO  every copy_file_range fails
 *   pwrite=short           every pwrite writes half of what it is given
 *   backing_open=ERRNO     every FUSE_DEV_IOC_BACKING_OPEN ioctl fails
 *
 * ERRNO is a number. Calls that match no rule go through unchanged. With
 * VN_FAULT_FILE set, the rules are read from that file at each call
 * instead, so that a test can turn them on and off while the daemon
 * runs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

/* The value of rule KEY whose argument matches arg (NULL: any), as
 * "ARG:VALUE" after "KEY="; returns VALUE or NULL. */
/* The rules: VN_FAULT, or the contents of the file VN_FAULT_FILE names
 * (read with raw syscalls, not through the functions below). */
static const char *rules(void)
{
	static __thread char buf[1024];
	const char *file = getenv("VN_FAULT_FILE");
	long fd, n;

	if (!file)
		return getenv("VN_FAULT");
	fd = syscall(SYS_openat, AT_FDCWD, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	syscall(SYS_close, fd);
	buf[n > 0 ? n : 0] = '\0';
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return buf;
}

static const char *rule(const char *key, const char *arg, bool prefix,
			bool suffix)
{
	const char *spec = rules(), *p;
	size_t klen = strlen(key);
	static char val[64];

	for (p = spec; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1
						    : NULL) {
		const char *end = strchr(p, ','), *colon, *a;
		size_t alen, n;

		if (strncmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		a = p + klen + 1;
		n = end ? (size_t)(end - a) : strlen(a);
		colon = memchr(a, ':', n);
		if (!colon) {
			snprintf(val, sizeof(val), "%.*s", (int)n, a);
			return val;
		}
		alen = (size_t)(colon - a);
		if (arg && ((prefix && strncmp(arg, a, alen) == 0) ||
			    (suffix && strlen(arg) >= alen &&
			     strncmp(arg + strlen(arg) - alen, a, alen) == 0) ||
			    (!prefix && !suffix && strlen(arg) == alen &&
			     strncmp(arg, a, alen) == 0))) {
			snprintf(val, sizeof(val), "%.*s",
				 (int)(n - alen - 1), colon + 1);
			return val;
		}
	}
	return NULL;
}

static int fail(const char *val)
{
	errno = atoi(val);
	return -1;
}

#define NEXT(name) \
	static __typeof__(name) *next; \
	if (!next) \
		next = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t lgetxattr(const char *path, const char *name, void *value,
		  size_t size)
{
	const char *v = rule("lgetxattr", name, false, false);
	NEXT(lgetxattr);

	return v ? fail(v) : next(path, name, value, size);
}

int lsetxattr(const char *path, const char *name, const void *value,
	      size_t size, int flags)
{
	const char *v = rule("lsetxattr", name, false, false);
	NEXT(lsetxattr);

	return v ? fail(v) : next(path, name, value, size, flags);
}

ssize_t llistxattr(const char *path, char *list, size_t size)
{
	static char grown[4096];
	const char *v = rule("llistxattr", NULL, false, false);
	NEXT(llistxattr);

	/* The size query answers; the first read of the list after it
	 * finds it too big. */
	if (v && !strcmp(v, "grow") && list && size &&
	    strcmp(grown, path) != 0) {
		strncpy(grown, path, sizeof(grown) - 1);
		errno = ERANGE;
		return -1;
	}
	return next(path, list, size);
}

int setxattr(const char *path, const char *name, const void *value,
	     size_t size, int flags)
{
	const char *v = rule("setxattr", name, false, true);
	NEXT(setxattr);

	return v ? fail(v) : next(path, name, value, size, flags);
}

int openat(int dirfd, const char *name, int flags, ...)
{
	const char *v = (flags & O_CREAT) ? rule("openat", name, true, false)
					  : NULL;
	mode_t mode = 0;
	va_list ap;
	NEXT(openat);

	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	return v ? fail(v) : next(dirfd, name, flags, mode);
}

ssize_t copy_file_range(int in, off_t *off_in, int out, off_t *off_out,
			size_t len, unsigned int flags)
{
	const char *v = rule("copy_file_range", NULL, false, false);
	NEXT(copy_file_range);

	return v ? fail(v) : next(in, off_in, out, off_out, len, flags);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
	const char *v = rule("pwrite", NULL, false, false);
	NEXT(pwrite);

	if (v && !strcmp(v, "short") && count > 1)
		count /= 2;
	return next(fd, buf, count, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off)
{
	return pwrite(fd, buf, count, off);
}

/* FUSE_DEV_IOC_BACKING_OPEN: _IOW(229, 1, struct fuse_backing_map), a
 * 16-byte struct. */
#define BACKING_OPEN _IOW(229, 1, char[16])

int ioctl(int fd, unsigned long req, ...)
{
	const char *v = req == BACKING_OPEN
				? rule("backing_open", NULL, false, false)
				: NULL;
	void *arg;
	va_list ap;
	NEXT(ioctl);

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	return v ? fail(v) : next(fd, req, arg);
}
