/* The wire beneath libfuse 3.14: a fuse_custom_io over the session's
 * /dev/fuse descriptor that amends, in place, the few replies whose
 * fields 3.14 cannot express, and the ioctls of kernel passthrough.
 *
 * The kernel here speaks protocol 7.4x; libfuse 3.14's fuse_kernel.h is
 * 7.36, whose padding holds the later fields. This is the only file that
 * knows their layout:
 *   - INIT: the kernel offers FUSE_PASSTHROUGH (bit 37: flags2 bit 5, with
 *     FUSE_INIT_EXT); the reply takes it with max_stack_depth, the 32-bit
 *     field at offset 36 of fuse_init_out (3.14's unused[0]).
 *   - OPEN and CREATE: fuse_open_out gets FOPEN_PASSTHROUGH (1 << 7) in
 *     open_flags and the backing id at offset 12 (3.14's padding).
 *   - With passthrough, INIT also takes FUSE_HANDLE_KILLPRIV_V2: the kernel
 *     then stops asking for security.capability before every write (a
 *     GETXATTR each, which halved 4 KiB random writes), and leaves the
 *     clearing of set-user-ID and set-group-ID bits to the daemon, with a
 *     flag in the request libfuse 3.14 does not pass on (SETATTR, OPEN,
 *     CREATE, WRITE): read here, on the way in (vn_transport_kill_privs).
 * libfuse writes each of these replies synchronously through writev() on
 * the thread that called fuse_reply_*(), so a handler states what it wants
 * in a per-thread record just before replying (vn_transport_arm), and
 * writev() applies it to that thread's next OPEN or CREATE reply. Likewise
 * a request is read by the thread that then serves it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "veneer.h"

/* The protocol as this file needs it (linux/fuse.h, 7.40 and on). */
#define PROTO_OPCODE_SETATTR 4
#define PROTO_OPCODE_OPEN 14
#define PROTO_OPCODE_WRITE 16
#define PROTO_OPCODE_INIT 26
#define PROTO_OPCODE_CREATE 35
#define PROTO_INIT_EXT (1u << 30)
#define PROTO_PASSTHROUGH_HI (1u << (37 - 32))	/* in flags2 */
#define PROTO_WRITEBACK_CACHE (1u << 16)
#define PROTO_HANDLE_KILLPRIV_V2 (1u << 28)
#define PROTO_FOPEN_PASSTHROUGH (1u << 7)
/* The kill flags of FUSE_HANDLE_KILLPRIV_V2, and where they are:
 * fuse_setattr_in.valid, fuse_open_in.open_flags and fuse_create_in's,
 * fuse_write_in.write_flags. */
#define PROTO_FATTR_KILL_SUIDGID (1u << 11)
#define PROTO_OPEN_KILL_SUIDGID (1u << 0)
#define PROTO_WRITE_KILL_SUIDGID (1u << 2)
#define SETATTR_IN_VALID 0
#define OPEN_IN_OPEN_FLAGS 4
#define CREATE_IN_OPEN_FLAGS 12
#define WRITE_IN_WRITE_FLAGS 20
#define PROTO_IN_HEADER 40	/* struct fuse_in_header */
#define PROTO_OUT_HEADER 16	/* struct fuse_out_header */
/* struct fuse_init_in: major, minor, max_readahead, flags, flags2 */
#define INIT_IN_FLAGS 12
#define INIT_IN_FLAGS2 16
/* struct fuse_init_out */
#define INIT_OUT_FLAGS 12
#define INIT_OUT_FLAGS2 32
#define INIT_OUT_MAX_STACK_DEPTH 36
#define INIT_OUT_SIZE 64
/* struct fuse_open_out: fh, open_flags, backing_id */
#define OPEN_OUT_FLAGS 8
#define OPEN_OUT_BACKING_ID 12
#define OPEN_OUT_SIZE 16
#define ENTRY_OUT_SIZE 128	/* struct fuse_entry_out */

/* struct fuse_backing_map and the ioctls on /dev/fuse. */
struct vn_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};
#define VN_DEV_IOC_BACKING_OPEN _IOW(229, 1, struct vn_backing_map)
#define VN_DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* A backing file on a FUSE or overlayfs mount is refused (ELOOP) at this
 * depth, and the mount can itself be a layer of overlayfs; at 2 it could
 * not. */
#define VN_MAX_STACK_DEPTH 1

static struct vn_fs *transport_fs;
static uint64_t init_unique;	/* INIT's request, its reply amended */
static bool kernel_offers;	/* INIT offered FUSE_PASSTHROUGH */
static bool offers_killpriv;	/* and FUSE_HANDLE_KILLPRIV_V2 */

/* The request this thread read last, and so serves: does it ask for the
 * set-user-ID and set-group-ID bits to be cleared? */
static __thread bool request_kills;

/* What this thread's next OPEN or CREATE reply gets. */
static __thread struct {
	bool armed;
	int32_t backing_id;
	size_t offset;		/* of fuse_open_out in the reply's body */
} pending;

static uint32_t get32(const void *p, size_t off)
{
	uint32_t v;

	memcpy(&v, (const char *)p + off, sizeof(v));
	return v;
}

static void put32(void *p, size_t off, uint32_t v)
{
	memcpy((char *)p + off, &v, sizeof(v));
}

/* Is the 32-bit field at off of the request's body (n bytes read in
 * all) there, and does it have any of bits? */
static bool has_bits(const void *buf, ssize_t n, size_t off, uint32_t bits)
{
	return n >= (ssize_t)(PROTO_IN_HEADER + off + 4) &&
	       (get32(buf, PROTO_IN_HEADER + off) & bits);
}

/* Where each request that can carry it has the kill flag. */
static const struct {
	uint32_t opcode;
	size_t off;
	uint32_t bit;
} kill_flags[] = {
	{ PROTO_OPCODE_SETATTR, SETATTR_IN_VALID, PROTO_FATTR_KILL_SUIDGID },
	{ PROTO_OPCODE_OPEN, OPEN_IN_OPEN_FLAGS, PROTO_OPEN_KILL_SUIDGID },
	{ PROTO_OPCODE_CREATE, CREATE_IN_OPEN_FLAGS, PROTO_OPEN_KILL_SUIDGID },
	{ PROTO_OPCODE_WRITE, WRITE_IN_WRITE_FLAGS, PROTO_WRITE_KILL_SUIDGID },
};

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	uint32_t flags, opcode;
	size_t i;

	request_kills = false;
	if (n < PROTO_IN_HEADER)
		return n;
	opcode = get32(buf, 4);
	for (i = 0; i < sizeof(kill_flags) / sizeof(kill_flags[0]); i++)
		if (kill_flags[i].opcode == opcode)
			request_kills = has_bits(buf, n, kill_flags[i].off,
						 kill_flags[i].bit);
	/* INIT: what the kernel offers, and which reply to amend. */
	if (opcode == PROTO_OPCODE_INIT &&
	    n >= PROTO_IN_HEADER + INIT_IN_FLAGS2 + 4) {
		memcpy(&init_unique, (char *)buf + 8, sizeof(init_unique));
		flags = get32(buf, PROTO_IN_HEADER + INIT_IN_FLAGS);
		kernel_offers = (flags & PROTO_INIT_EXT) &&
				(get32(buf, PROTO_IN_HEADER + INIT_IN_FLAGS2) &
				 PROTO_PASSTHROUGH_HI);
		offers_killpriv = flags & PROTO_HANDLE_KILLPRIV_V2;
	}
	return n;
}

bool vn_transport_offers_passthrough(void)
{
	return kernel_offers && offers_killpriv;
}

bool vn_transport_kill_privs(void)
{
	return request_kills;
}

/* The INIT reply takes passthrough where both sides want it. */
static void amend_init(struct iovec *iov, int count)
{
	struct vn_fs *fs = transport_fs;
	uint32_t flags;

	if (count < 2 || iov[1].iov_len < INIT_OUT_SIZE)
		return;
	flags = get32(iov[1].iov_base, INIT_OUT_FLAGS);
	if (fs->passthrough != VN_PT_WANTED ||
	    !vn_transport_offers_passthrough() ||
	    !(flags & PROTO_INIT_EXT) || (flags & PROTO_WRITEBACK_CACHE)) {
		if (fs->passthrough == VN_PT_WANTED) {
			fs->passthrough = VN_PT_UNAVAILABLE;
			vn_debug("passthrough: not offered by the kernel");
		}
		return;
	}
	put32(iov[1].iov_base, INIT_OUT_FLAGS,
	      flags | PROTO_HANDLE_KILLPRIV_V2);
	put32(iov[1].iov_base, INIT_OUT_FLAGS2,
	      get32(iov[1].iov_base, INIT_OUT_FLAGS2) | PROTO_PASSTHROUGH_HI);
	put32(iov[1].iov_base, INIT_OUT_MAX_STACK_DEPTH, VN_MAX_STACK_DEPTH);
	fs->kill_privs = true;
	fs->passthrough = VN_PT_ON;
	vn_debug("passthrough: on, max_stack_depth %d", VN_MAX_STACK_DEPTH);
}

static void amend_open(struct iovec *iov, int count)
{
	char *out;

	if (count < 2 ||
	    iov[1].iov_len < pending.offset + OPEN_OUT_SIZE) {
		vn_err("passthrough: an open reply of %zu bytes, not %zu",
		       count < 2 ? 0 : iov[1].iov_len,
		       pending.offset + OPEN_OUT_SIZE);
		return;
	}
	out = (char *)iov[1].iov_base + pending.offset;
	put32(out, OPEN_OUT_FLAGS,
	      get32(out, OPEN_OUT_FLAGS) | PROTO_FOPEN_PASSTHROUGH);
	put32(out, OPEN_OUT_BACKING_ID, (uint32_t)pending.backing_id);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count,
			 void *userdata)
{
	uint64_t unique;
	int32_t error;

	if (count > 0 && iov[0].iov_len >= PROTO_OUT_HEADER) {
		memcpy(&error, (char *)iov[0].iov_base + 4, sizeof(error));
		memcpy(&unique, (char *)iov[0].iov_base + 8, sizeof(unique));
		if (unique && unique == init_unique && !error)
			amend_init(iov, count);
		else if (unique && pending.armed) {
			if (!error)
				amend_open(iov, count);
			pending.armed = false;
		}
	}
	return writev(fd, iov, count);
}

static ssize_t io_splice_receive(int fdin, off_t *offin, int fdout,
				 off_t *offout, size_t len,
				 unsigned int flags, void *userdata)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static ssize_t io_splice_send(int fdin, off_t *offin, int fdout,
			      off_t *offout, size_t len, unsigned int flags,
			      void *userdata)
{
	return splice(fdin, offin, fdout, offout, len, flags);
}

static const struct fuse_custom_io vn_io = {
	.writev = io_writev,
	.read = io_read,
	.splice_receive = io_splice_receive,
	.splice_send = io_splice_send,
};

int vn_transport_install(struct vn_fs *fs, struct fuse_session *se)
{
	transport_fs = fs;
	return fuse_session_custom_io(se, &vn_io, fuse_session_fd(se));
}

void vn_transport_arm(int backing_id, bool create)
{
	pending.armed = true;
	pending.backing_id = backing_id;
	/* A CREATE reply is fuse_entry_out then fuse_open_out. */
	pending.offset = create ? ENTRY_OUT_SIZE : 0;
}

void vn_transport_disarm(void)
{
	pending.armed = false;
}

int vn_backing_open(struct vn_fs *fs, int fd)
{
	struct vn_backing_map map = { .fd = fd };
	int id = ioctl(fuse_session_fd(fs->se), VN_DEV_IOC_BACKING_OPEN,
		       &map);

	return id < 0 ? -errno : id;
}

void vn_backing_close(struct vn_fs *fs, int id)
{
	uint32_t v = (uint32_t)id;

	if (ioctl(fuse_session_fd(fs->se), VN_DEV_IOC_BACKING_CLOSE, &v) < 0)
		vn_warn("passthrough: cannot release backing id %d: %s", id,
			strerror(errno));
}
