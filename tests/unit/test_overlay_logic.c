/* Unit tests for overlay mode's pure logic: the lowerdir= list and its
 * escapes, id maps, the raw option filter that runs before fuse_opt, the
 * whiteout format's names, and the copy-up bookkeeping of the node table.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FUSE_USE_VERSION 312
#include <fuse_opt.h>

#include "check.h"
#include "idmap.h"
#include "node_table.h"
#include "options.h"
#include "overlay_opts.h"
#include "whiteout.h"

static void test_split(void)
{
	char **l = NULL;
	int n;

	n = vn_split_layers("a:b:c", &l);
	CHECK(n == 3 && strcmp(l[0], "a") == 0 && strcmp(l[2], "c") == 0);
	vn_free_layers(l, n);

	n = vn_split_layers("/x\\:y:/z", &l);
	CHECK(n == 2 && strcmp(l[0], "/x:y") == 0 && strcmp(l[1], "/z") == 0);
	vn_free_layers(l, n);

	n = vn_split_layers("one\\\\:two", &l);
	CHECK(n == 2 && strcmp(l[0], "one\\") == 0);
	vn_free_layers(l, n);

	n = vn_split_layers("single", &l);
	CHECK(n == 1 && strcmp(l[0], "single") == 0);
	vn_free_layers(l, n);

	CHECK(vn_split_layers("", &l) == -1);
	CHECK(vn_split_layers("a::b", &l) == -1);
	CHECK(vn_split_layers(":a", &l) == -1);
	CHECK(vn_split_layers("a:", &l) == -1);
}

static void test_idmap(void)
{
	struct vn_idmap m[4];

	CHECK(vn_parse_idmap("0:1000:1:1:100000:65536", m, 4) == 2);
	CHECK(m[0].inner == 0 && m[0].outer == 1000 && m[0].len == 1);
	CHECK(m[1].inner == 1 && m[1].outer == 100000 && m[1].len == 65536);
	CHECK(vn_parse_idmap("0:1000:1,1:5:2", m, 4) == 2 && m[1].outer == 5);
	CHECK(vn_parse_idmap(":0:100000:65536", m, 4) == 1 &&
	      m[0].outer == 100000 && m[0].len == 65536);
	CHECK(vn_parse_idmap("::0:1:1", m, 4) == -1);
	CHECK(vn_parse_idmap("0:1000", m, 4) == -1);
	CHECK(vn_parse_idmap("0:1000:0", m, 4) == -1);
	CHECK(vn_parse_idmap("a:1:1", m, 4) == -1);
	CHECK(vn_parse_idmap("0:1:1:", m, 4) == -1);
	CHECK(vn_parse_idmap("1:1:1:2:2:1:3:3:1", m, 2) == -1);
	CHECK(vn_parse_idmap("4294967295:0:2", m, 4) == -1);

	CHECK(vn_parse_idmap("0:1000:1:1:100000:65536", m, 4) == 2);
	CHECK(vn_idmap_in(m, 2, 1000) == 0);
	CHECK(vn_idmap_in(m, 2, 100000) == 1);
	CHECK(vn_idmap_in(m, 2, 165535) == 65536);
	CHECK(vn_idmap_in(m, 2, 165536) == 65534);
	CHECK(vn_idmap_in(m, 2, 0) == 65534);
	CHECK(vn_idmap_in(m, 0, 123) == 123);
	CHECK(vn_idmap_out(m, 2, 0) == 1000);
	CHECK(vn_idmap_out(m, 2, 5) == 100004);
	CHECK(vn_idmap_out(m, 2, 70000) == 70000);
}

/* Run the raw filter on argv and compare what is left for fuse_opt. */
static void filter(const char *const *argv, int argc, struct vn_opts *o,
		   const char *want_rest, int want_ret)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	char rest[256] = "";
	int i, ret;

	for (i = 0; i < argc; i++)
		fuse_opt_add_arg(&args, argv[i]);
	memset(o, 0, sizeof(*o));
	ret = vn_take_raw_opts(&args, o);
	for (i = 1; i < args.argc; i++) {
		if (i > 1)
			strcat(rest, " ");
		strcat(rest, args.argv[i]);
	}
	CHECK(ret == want_ret);
	if (want_rest && strcmp(rest, want_rest) != 0) {
		fprintf(stderr, "rest: got '%s', want '%s'\n", rest, want_rest);
		CHECK(!"rest");
	}
	fuse_opt_free_args(&args);
}

static void test_raw_opts(void)
{
	const char *a1[] = { "veneerfs", "-o",
			     "allow_other,lowerdir=/a\\:b:/c,upperdir=/u,"
			     "workdir=/w,ro",
			     "/m" };
	const char *a2[] = { "veneerfs", "-olowerdir=/l", "-o", "uidmapping="
			     "0:1000:1,1:100000:10,gidmapping=0:1:1", "/m" };
	const char *a3[] = { "veneerfs", "-o", "lowerdir=", "/m" };
	const char *a4[] = { "veneerfs", "-o", "uidmapping=x", "/m" };
	const char *a5[] = { "veneerfs", "-o", "fsname=a\\,b", "--",
			     "-o", "lowerdir=/x" };
	const char *a6[] = { "veneerfs", "-o",
			     "lowerdir=/l,context=\"u:r:t:s0:c1,c2\",nodev",
			     "/m" };
	struct vn_opts o;

	filter(a1, 4, &o, "-o allow_other,ro /m", 0);
	CHECK(o.overlay && o.nlowers == 2);
	CHECK(o.nlowers == 2 && strcmp(o.lowers[0], "/a:b") == 0 &&
	      strcmp(o.lowers[1], "/c") == 0);
	CHECK(o.upperdir && strcmp(o.upperdir, "/u") == 0);
	CHECK(o.workdir && strcmp(o.workdir, "/w") == 0);
	vn_opts_free(&o);

	filter(a2, 5, &o, "/m", 0);
	CHECK(o.overlay && o.nlowers == 1);
	CHECK(o.nuidmap == 2 && o.uidmap[1].outer == 100000);
	CHECK(o.ngidmap == 1 && o.gidmap[0].outer == 1);
	vn_opts_free(&o);

	filter(a3, 4, &o, NULL, -1);
	CHECK(o.bad[0] != '\0');
	vn_opts_free(&o);

	filter(a4, 4, &o, NULL, -1);
	CHECK(o.bad[0] != '\0');
	vn_opts_free(&o);

	/* Other options keep their escapes; "--" ends option parsing. */
	filter(a5, 6, &o, "-o fsname=a\\,b -- -o lowerdir=/x", 0);
	CHECK(!o.overlay);
	vn_opts_free(&o);

	/* A quoted context keeps its comma, and is dropped whole. */
	filter(a6, 4, &o, "-o nodev /m", 0);
	CHECK(o.overlay && o.nlowers == 1);
	vn_opts_free(&o);
}

static void test_wh_names(void)
{
	struct stat st = { .st_mode = S_IFCHR, .st_rdev = makedev(0, 0) };

	CHECK(vn_wh_reserved(".wh.foo"));
	CHECK(vn_wh_reserved(".wh..wh..opq"));
	CHECK(!vn_wh_reserved(".whfoo"));
	CHECK(!vn_wh_reserved("foo.wh."));
	CHECK(vn_wh_hidden(".wh.foo") && strcmp(vn_wh_hidden(".wh.foo"),
						"foo") == 0);
	CHECK(vn_wh_hidden(".wh..wh..opq") == NULL);
	CHECK(vn_wh_hidden(".wh.") == NULL);
	CHECK(vn_wh_hidden(".wh..") == NULL);
	CHECK(vn_wh_hidden(".wh...") == NULL);
	CHECK(vn_wh_hidden("foo") == NULL);
	CHECK(vn_wh_is_dev(&st));
	st.st_rdev = makedev(1, 3);
	CHECK(!vn_wh_is_dev(&st));
	st.st_mode = S_IFREG;
	st.st_rdev = 0;
	CHECK(!vn_wh_is_dev(&st));
}

/* A copy-up moves the node to a new (dev, ino) and keeps the old object
 * beneath it; the nodeid and the presented inode number stay. */
static void test_copied_up(void)
{
	struct vn_entry_key root = { .dev = 1, .ino = 2, .rino = 2,
				     .mount_id = -1 };
	struct vn_entry_key key = { .dev = 9, .ino = 77, .type = S_IFREG,
				    .layer = 1, .rino = 77, .mount_id = -1 };
	struct vn_entry_key up = { .dev = 1, .ino = 500, .type = S_IFREG,
				   .layer = 0, .mount_id = -1 };
	struct vn_garbage g = { .nfds = 0 };
	struct vn_table t;
	struct vn_node *r, *n, *again;
	struct vn_real real;
	int layers[4], fd, old;

	CHECK(vn_table_init(&t, 8) == 0);
	r = vn_table_set_root(&t, &root, dup(0));
	n = vn_table_enter(&t, r, "f", &key);
	CHECK(n && n->layer == 1 && n->rino == 77);
	CHECK(vn_table_layers(&t, n, layers, 4) == 1 && layers[0] == 1);

	old = dup(0);
	CHECK(vn_table_set_fd(&t, n, old, &g) == old);
	fd = dup(0);
	CHECK(vn_table_copied_up(&t, n, &up, fd, &g) == 0);
	vn_garbage_release(&g);
	CHECK(vn_table_fd(&t, n) == fd);
	/* Requests still using the old fd keep it until the node is idle. */
	CHECK(fcntl(old, F_GETFD) >= 0);
	CHECK(vn_table_real(&t, n, -1, &real) == 0 && real.layer == 0 &&
	      real.dev == 1 && real.ino == 500);
	CHECK(n->rino == 77);
	/* The old key finds nothing now; the new one finds the node. */
	key.dev = 9;
	key.ino = 77;
	key.layer = 1;
	again = vn_table_enter(&t, r, "f", &key);
	CHECK(again && again != n);
	vn_table_forget(&t, again->nodeid, 1, &g);
	vn_table_put(&t, again, &g);
	up.dev = 1;
	up.ino = 500;
	again = vn_table_enter(&t, r, "f", &up);
	CHECK(again == n);
	vn_table_forget(&t, n->nodeid, 2, &g);
	vn_table_put(&t, n, &g);
	CHECK(n->old_fd == old);
	vn_table_put(&t, n, &g);
	vn_garbage_release(&g);
	CHECK(fcntl(old, F_GETFD) < 0);
	CHECK(vn_table_count(&t) == 1);
	vn_table_destroy(&t);
}

int main(void)
{
	test_split();
	test_idmap();
	test_raw_opts();
	test_wh_names();
	test_copied_up();
	return check_done("test_overlay_logic");
}
