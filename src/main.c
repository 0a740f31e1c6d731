/* veneerfs: parse, validate, mount, serve, tear down. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "creds.h"
#include "log.h"
#include "veneer.h"

/* Use the whole hard limit: the fd cache is sized from it. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Options veneerfs always hands to the kernel. */
static int add_mount_opts(struct fuse_args *args, const struct vn_opts *o)
{
	char *fsname = NULL, *opt = NULL;
	int err = -1;

	if (asprintf(&fsname, "fsname=%s,subtype=veneerfs", o->source) < 0)
		return -1;
	/* Escape the source's commas, not the separator we add. */
	fsname[strlen(fsname) - strlen(",subtype=veneerfs")] = '\0';
	if (fuse_opt_add_opt_escaped(&opt, fsname) < 0 ||
	    fuse_opt_add_opt(&opt, "subtype=veneerfs") < 0)
		goto out;
	if (o->default_permissions &&
	    fuse_opt_add_opt(&opt, "default_permissions") < 0)
		goto out;
	/* An overlay mounted by root serves every user and honours set-user-ID
	 * bits, as the kernel's overlayfs does: container engines run their
	 * processes as other users on it. The kernel still checks each
	 * caller's permissions (default_permissions is always on here). An
	 * explicit nosuid given by the user comes later and wins. */
	if (o->overlay && geteuid() == 0) {
		if (fuse_opt_add_opt(&opt, "suid") < 0)
			goto out;
		if (!o->allow_other && !o->allow_root &&
		    fuse_opt_add_opt(&opt, "allow_other") < 0)
			goto out;
	}
	/* An overlay without an upper layer takes no change at all. */
	if (o->overlay && !o->upperdir && fuse_opt_add_opt(&opt, "ro") < 0)
		goto out;
	/* Inserted first, so that the user's own fsname= wins. */
	if (fuse_opt_insert_arg(args, 1, "-o") < 0 ||
	    fuse_opt_insert_arg(args, 2, opt) < 0)
		goto out;
	err = 0;
out:
	free(fsname);
	free(opt);
	return err;
}

static int serve(struct fuse_session *se, const struct vn_opts *o)
{
	struct fuse_loop_config *cfg;
	int ret;

	if (o->singlethread)
		return fuse_session_loop(se);
	cfg = fuse_loop_cfg_create();
	if (!cfg)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(cfg, (unsigned int)o->clone_fd);
	fuse_loop_cfg_set_idle_threads(cfg, o->max_idle_threads);
	ret = fuse_session_loop_mt(se, cfg);
	fuse_loop_cfg_destroy(cfg);
	return ret;
}

static void print_version(void)
{
	printf("veneerfs %s\nlibfuse %s\n", PACKAGE_VERSION,
	       fuse_pkgversion());
}

/* Mount and serve until unmounted or signalled. Returns the exit code. */
static int run(struct fuse_args *args, struct vn_opts *o, struct vn_fs *fs)
{
	struct fuse_session *se;
	int ret = 1, err;

	se = fuse_session_new(args, &vn_ops, sizeof(vn_ops), fs);
	if (!se)
		return 1; /* libfuse said why (an unknown option) */
	fs->se = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_destroy;
	if (fuse_session_mount(se, o->mountpoint) != 0) {
		vn_err("cannot mount on '%s'", o->mountpoint);
		goto out_signals;
	}
	if (fuse_daemonize(o->foreground) != 0)
		goto out_unmount;
	if (!o->foreground)
		vn_log_to_syslog(o->mountpoint);
	err = vn_fs_start(fs);
	if (err) {
		vn_err("cannot open /proc/self/fd: %s", strerror(-err));
		goto out_unmount;
	}
	err = vn_stats_start(fs);
	if (err)
		vn_warn("no statistics on SIGUSR1: %s", strerror(-err));
	/* In the foreground the terminal (or the service manager) shows
	 * this; in syslog it marks where a mount's messages begin and end. */
	if (vn_log_is_syslog() && o->overlay)
		vn_info("mounted: overlay of %d lower layer(s), upper %s",
			o->nlowers, o->upperdir ? o->upperdir : "none");
	else if (vn_log_is_syslog())
		vn_info("mounted: passthrough of %s", o->source);
	/* libfuse returns the signal number when SIGINT, SIGTERM or SIGHUP
	 * ended the loop: that is a clean unmount too. */
	ret = serve(se, o) >= 0 ? 0 : 1;
	vn_stats_stop();
	if (vn_log_is_syslog())
		vn_info("unmounted");
out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
	return ret;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct vn_opts o;
	struct vn_fs fs;
	int ret = 1, err;
	size_t left;

	if (vn_opts_parse(&args, &o) < 0 && !o.show_help && !o.show_version)
		goto out_bad;
	if (o.show_help) {
		vn_opts_help(argv[0]);
		ret = 0;
		goto out;
	}
	if (o.show_version) {
		print_version();
		ret = 0;
		goto out;
	}
	if (vn_opts_validate(&o) < 0)
		goto out_bad;
	vn_log_set_debug(o.debug);
	raise_nofile();
	umask(0); /* the kernel already applied the caller's umask */
	vn_creds_setup(o.overlay, &o);
	err = vn_fs_init(&fs, &o);
	if (err) {
		if (err != -EBUSY && err != -ENOENT)
			vn_err("cannot set up: %s", strerror(-err));
		vn_fs_destroy(&fs);
		goto out;
	}
	if (add_mount_opts(&args, &o) == 0)
		ret = run(&args, &o, &fs);
	left = vn_fs_destroy(&fs);
	if (left > 1)
		vn_debug("%zu nodes were still known at unmount", left - 1);
	goto out;
out_bad:
	fprintf(stderr, "veneerfs: %s\n", o.bad ? o.bad : "invalid arguments");
out:
	vn_opts_free(&o);
	fuse_opt_free_args(&args);
	return ret;
}
